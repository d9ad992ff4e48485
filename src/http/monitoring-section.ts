import type { IntervalEstimate, MonitoringSnapshot } from '../contracts/model-monitoring.js';
import { escapeHtml } from './escape-html.js';

/** Styles of the monitoring section and its alert banner (added to the operator page's own). */
export const MONITORING_STYLE =
  '.alert{background:#ffe3e3;border:1px solid #e12d39;color:#610316;padding:.6rem .8rem;margin:0 0 1rem;border-radius:4px}' +
  '.alert ul{margin:.3rem 0 0 1.2rem;padding:0}td.num{text-align:right;font-variant-numeric:tabular-nums}tr.over td{background:#fff3c4}';

function figure(e: IntervalEstimate): string {
  if (e.value === null) return '—';
  const ci = e.lower !== null && e.upper !== null ? ` (${e.lower.toFixed(3)}–${e.upper.toFixed(3)})` : '';
  return `${e.value.toFixed(3)}${ci}`;
}

/**
 * The alert banner: every configured bound the latest monitor run found crossed, or nothing.
 * Model, outcome and feature names and figures only; there is no patient data in a snapshot.
 */
export function monitoringBanner(snapshot: MonitoringSnapshot | undefined): string {
  if (!snapshot || snapshot.alerts.length === 0) return '';
  const items = snapshot.alerts
    .map(
      (a) =>
        `<li>${escapeHtml(a.kind)}: ${escapeHtml(a.model)} — ${escapeHtml(a.subject)} ${a.kind === 'calibration' ? 'calibration error' : 'SMD'} ` +
        `${a.value.toFixed(3)} beyond the bound ${a.bound}</li>`,
    )
    .join('');
  return `<div class="alert" role="alert"><strong>Model monitoring alert</strong><ul>${items}</ul></div>`;
}

/**
 * The operator page's monitoring section: outcome metrics per model and outcome over the rolling
 * window with 95 % bootstrap intervals, and input drift (largest |SMD| per model and modality, with
 * missing and out-of-distribution rates) over the drift window, from the latest monitor run.
 */
export function monitoringSection(snapshot: MonitoringSnapshot | undefined, enabled: boolean): string {
  if (!enabled)
    return '<h2>Model monitoring</h2><p class="note">Off (MONITORING_INTERVAL_MS=0, or no models loaded).</p>';
  if (!snapshot)
    return '<h2>Model monitoring</h2><p class="note">The first monitor run has not finished yet.</p>';
  const s = snapshot.settings;
  const outcomeRows = snapshot.outcomes
    .map((o) => {
      const over = o.n >= s.minCases && o.ece.value !== null && o.ece.value > s.maxCalibrationError;
      return `<tr${over ? ' class="over"' : ''}><td>${escapeHtml(o.model)}</td><td>${escapeHtml(o.display)}</td><td class="num">${o.n}</td>
        <td class="num">${o.positives}</td><td class="num">${o.prevalentExcluded}</td><td class="num">${figure(o.auroc)}</td>
        <td class="num">${figure(o.brier)}</td><td class="num">${figure(o.ece)}</td></tr>`;
    })
    .join('\n');
  const pending = Object.entries(snapshot.pending)
    .map(([m, n]) => `${escapeHtml(m)} ${n}`)
    .join(', ');
  const driftRows = snapshot.modalities
    .map((m) => {
      const features = snapshot.drift.filter((d) => d.model === m.model && d.modality === m.modality);
      const worst = features.reduce<(typeof features)[number] | undefined>(
        (w, d) => (!w || Math.abs(d.smd) > Math.abs(w.smd) ? d : w),
        undefined,
      );
      const over = worst !== undefined && worst.n >= s.minCases && Math.abs(worst.smd) > s.maxDriftSmd;
      return `<tr${over ? ' class="over"' : ''}><td>${escapeHtml(m.model)}</td><td>${escapeHtml(m.modality)}</td>
        <td class="num">${snapshot.driftWindowAssessments[m.model] ?? 0}</td>
        <td>${worst ? `${escapeHtml(worst.feature)} ${worst.smd.toFixed(3)} (n ${worst.n})` : '—'}</td>
        <td class="num">${(m.missingRatio * 100).toFixed(1)}%</td><td class="num">${(m.outOfDistributionRatio * 100).toFixed(1)}%</td></tr>`;
    })
    .join('\n');
  return `<h2>Model monitoring</h2>
<p class="note">Run ${escapeHtml(snapshot.ranAt)}. Outcomes: assessments of the ${s.outcomeWindowDays} days before the label window
(${s.labelWindowDays} days) closed, labelled from later Conditions, latest per patient; 95 % bootstrap intervals. Still in their label window: ${pending || 'none'}.
Bounds: calibration error ${s.maxCalibrationError}, |SMD| ${s.maxDriftSmd}, from ${s.minCases} cases.</p>
<table><thead><tr><th>Model</th><th>Outcome</th><th>n</th><th>Positive</th><th>Prevalent (left out)</th><th>AUROC</th><th>Brier</th><th>Calibration error (ECE)</th></tr></thead>
<tbody>${outcomeRows || '<tr><td colspan="8">No labelled assessment in the window yet.</td></tr>'}</tbody></table>
<p class="note">Input drift over the last ${s.driftWindowDays} days: standardised mean difference from the training split (largest per modality), and how often each modality was missing or out of distribution.</p>
<table><thead><tr><th>Model</th><th>Modality</th><th>Assessments</th><th>Largest |SMD|</th><th>Missing</th><th>Out of distribution</th></tr></thead>
<tbody>${driftRows || '<tr><td colspan="6">No assessment in the drift window.</td></tr>'}</tbody></table>`;
}
