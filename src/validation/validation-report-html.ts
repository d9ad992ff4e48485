import { escapeHtml } from '../http/escape-html.js';
import type { Estimate } from '../evaluation/model-statistics.js';
import type { GroupMetrics } from './validation-metrics.js';
import type { ValidationReport } from './run-validation.js';

function est(e: Estimate): string {
  if (e.value === null) return '—';
  const ci = e.lower === null || e.upper === null ? '' : ` [${e.lower.toFixed(3)}, ${e.upper.toFixed(3)}]`;
  return `${e.value.toFixed(3)}${ci}`;
}

function row(name: string, m: GroupMetrics): string {
  const cells = [
    name,
    String(m.n),
    String(m.positives),
    est(m.auroc),
    est(m.auprc),
    est(m.brier),
    est(m.ece),
  ];
  return `<tr>${cells.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`;
}

function counts(c: Record<string, number>): string {
  const entries = Object.entries(c);
  return entries.length === 0 ? 'none' : entries.map(([k, n]) => `${escapeHtml(k)}: ${n}`).join('; ');
}

/**
 * The local-validation report as one self-contained HTML page (no scripts, no external assets),
 * every value escaped: outcome codes and reasons come from the EHR and the manifests.
 */
export function validationReportHtml(report: ValidationReport): string {
  const head =
    '<tr><th>group</th><th>n</th><th>positives</th><th>AUROC</th><th>AUPRC</th><th>Brier</th><th>ECE</th></tr>';
  const models = report.models
    .map((m) => {
      const outcomes = m.outcomes
        .map(
          (o) =>
            `<h3>${escapeHtml(o.display)} (${escapeHtml(o.system)} ${escapeHtml(o.code)})</h3>` +
            `<p>Evaluated ${o.evaluated}; prevalent at assessment time (excluded) ${o.prevalentExcluded}; ` +
            `not assessed: ${counts(o.notAssessed)}.</p>` +
            `<table>${head}${row('all', o.overall)}${Object.entries(o.subgroups)
              .map(([g, s]) => row(g, s))
              .join('')}</table>`,
        )
        .join('');
      return (
        `<h2>${escapeHtml(m.model)}</h2><p>Assessed ${m.assessed} patients; abstained (not assessed): ` +
        `${counts(m.abstained)}. model.onnx sha256 <code>${escapeHtml(m.sha256)}</code></p>${outcomes}`
      );
    })
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Local validation</title>
<style>body{font-family:sans-serif;max-width:60rem;margin:1rem auto}table{border-collapse:collapse}td,th{border:1px solid #999;padding:.2rem .5rem;text-align:right}td:first-child{text-align:left}</style>
</head><body>
<h1>Local validation</h1>
<p>Assessment time ${escapeHtml(report.asOf)} (export at ${escapeHtml(report.exportTransactionTime)}${
    report.since ? `, resources changed since ${escapeHtml(report.since)}` : ''
  }); ${report.patients.exported} patients exported.</p>
<p>Labels: ${escapeHtml(report.labelDefinition)}.</p>
<p>Intervals: ${escapeHtml(report.method)}. AUROC and AUPRC are undefined (—) where a group has one class only.</p>
${models}
</body></html>
`;
}
