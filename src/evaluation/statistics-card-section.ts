import type { ModelManifest } from '../contracts/manifest-types.js';
import { fixed3, tableHeader, tableRow } from './markdown-table.js';
import type { Estimate, ModelStatistics } from './model-statistics.js';

/** "0.947 [0.931, 0.961]": point estimate and 95 % bootstrap interval. */
export function withInterval(e: Estimate | undefined, signed = false): string {
  if (!e || e.value === null) return '—';
  const s = (x: number | null): string => (x === null ? '—' : `${signed && x > 0 ? '+' : ''}${x.toFixed(3)}`);
  return `${s(e.value)} [${s(e.lower)}, ${s(e.upper)}]`;
}

function pText(p: number | null, resamples: number): string {
  if (p === null) return '—';
  return p <= 1 / resamples + 1e-12 ? `< ${(2 / resamples).toFixed(3)}` : p.toFixed(3);
}

/**
 * Markdown lines of the statistics tables (issue 19 point 2): metrics with 95 % bootstrap
 * intervals, rates at the risk-band thresholds, ECE per subgroup, and fusion minus its best
 * single-modality model. The same lines go into the card and to stdout.
 */
export function renderStatisticsSection(manifest: ModelManifest, stats: ModelStatistics): string[] {
  const lines: string[] = [];
  const headers = manifest.outcomes.map((o) => o.coding.display);
  lines.push(
    '',
    `**Uncertainty: 95 % bootstrap intervals** (${stats.method}; synthetic test data)`,
    '',
    ...tableHeader(['outcome', 'AUROC', 'AUPRC', 'Brier', 'ECE (10 bins)']),
    ...manifest.outcomes.map((o) => {
      const m = stats.overall[o.coding.code];
      return tableRow([
        o.coding.display,
        ...[m?.auroc, m?.auprc, m?.brier, m?.ece].map((e) => withInterval(e)),
      ]);
    }),
  );
  lines.push(
    '',
    '**At the risk-band thresholds** (the `outcomes[].thresholds` of the manifest that set the band on the CDS card and in `RiskAssessment.prediction.qualitativeRisk`; flagged = probability at or above the band’s lower bound; 95 % bootstrap intervals)',
    '',
    ...tableHeader(['outcome', 'flagged at', 'sensitivity', 'specificity', 'PPV', 'NPV']),
  );
  for (const o of manifest.outcomes) {
    for (const b of stats.overall[o.coding.code]?.bands ?? []) {
      const rates = [b.sensitivity, b.specificity, b.ppv, b.npv].map((e) => withInterval(e));
      lines.push(tableRow([o.coding.display, `${b.code} (p ≥ ${b.threshold})`, ...rates]));
    }
  }
  lines.push(
    '',
    '**Calibration by subgroup** (ECE, 10 bins, 95 % bootstrap interval; ECE is biased upward on resamples, so an interval can lie mostly above its point estimate)',
    '',
    ...tableHeader(['subgroup', 'n', ...headers]),
  );
  for (const [group, entry] of Object.entries(stats.subgroupEce)) {
    lines.push(
      tableRow([
        group,
        entry.n,
        ...manifest.outcomes.map((o) => withInterval(entry.byOutcome[o.coding.code])),
      ]),
    );
  }
  const c = stats.fusionVersusBestSingle;
  if (c) {
    lines.push(
      '',
      `**Fusion minus the best single-modality model** (AUROC, ${c.patients} patients with all four modalities; paired bootstrap: both models scored on the same resampled patients; two-sided p for no difference)`,
      '',
      ...tableHeader([
        'outcome',
        'best single modality',
        'fusion',
        'single',
        'difference [95 % CI]',
        'p',
        'fusion better (CI above 0)',
      ]),
    );
    for (const o of manifest.outcomes) {
      const d = c.byOutcome[o.coding.code];
      if (!d) continue;
      lines.push(
        tableRow([
          o.coding.display,
          d.bestSingleModality,
          fixed3(d.fusionAuroc),
          fixed3(d.singleAuroc),
          withInterval(d.difference, true),
          pText(d.pValue, stats.resamples),
          d.fusionBetter ? 'yes' : 'no',
        ]),
      );
    }
  }
  return lines;
}
