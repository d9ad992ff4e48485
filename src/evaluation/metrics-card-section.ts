import type { ModelManifest } from '../contracts/manifest-types.js';
import type { ModelStatistics } from './model-statistics.js';
import type { MetricsByOutcome } from './outcome-metrics.js';
import { fixed3, tableHeader, tableRow } from './markdown-table.js';
import { renderStatisticsSection } from './statistics-card-section.js';

/** Markers around the generated performance section of `card.md` (written by models/training/cards.py). */
export const METRICS_START = '<!-- metrics:start -->';
export const METRICS_END = '<!-- metrics:end -->';

/** What `npm run models:evaluate` records for one model (also written to `manifest.metrics`). */
export interface ModelMetricsReport {
  dataset: { description: string; split: 'test' | 'test-shifted'; patients: number };
  /** Patients evaluated: those with every modality in `applicability.requires` present. */
  population: { patients: number; requires: string[] };
  overall: MetricsByOutcome;
  subgroups: Record<string, MetricsByOutcome>;
  /** Patients with all four modalities present. */
  allModalitiesPresent: MetricsByOutcome;
  /** Fusion models: the same population with one modality removed (fed as missing). */
  modalityRemoved?: Record<string, MetricsByOutcome>;
  /** Fusion models: AUROC against each single-modality model on patients with all four modalities. */
  comparison?: {
    patients: number;
    aurocByModel: Record<string, Record<string, number | null>>;
    bestSingleModality: Record<string, { model: string; auroc: number | null }>;
    fusionBeatsBestSingleModality: Record<string, boolean>;
    /**
     * The fusion model's whole population, where a single-modality model says its mean
     * probability for a patient without its modality (it cannot assess them).
     */
    wholePopulation?: {
      patients: number;
      aurocByModel: Record<string, Record<string, number | null>>;
      bestSingleModality: Record<string, { model: string; auroc: number | null }>;
      fusionBeatsBestSingleModality: Record<string, boolean>;
    };
  };
  /** ROC and reliability plots of the same-site test split (none for the shifted site). */
  plots?: { roc: string; calibration: string };
  /**
   * Issue 19: the same figures on the shifted-site test set (another site's detector, lab units
   * and case mix), which nothing in training or design looked at.
   */
  shiftedSite?: Omit<ModelMetricsReport, 'plots' | 'shiftedSite'>;
  /** Issue 19: bootstrap intervals, rates at the risk bands, subgroup calibration, paired fusion test. */
  statistics?: ModelStatistics;
}

/** Short label of each outcome for table headers: the coding display. */
function outcomeHeaders(manifest: ModelManifest): string[] {
  return manifest.outcomes.map((o) => o.coding.display);
}

function aurocRow(
  label: string,
  byOutcome: MetricsByOutcome | undefined,
  manifest: ModelManifest,
  n?: number,
): string {
  const cells = manifest.outcomes.map((o) => fixed3(byOutcome?.[o.coding.code]?.auroc));
  return tableRow([label, ...(n === undefined ? [] : [n]), ...cells]);
}

/** The AUROC of each model against the fusion model, and whether fusion beats the best of them. */
function comparisonTable(
  manifest: ModelManifest,
  headers: string[],
  aurocByModel: Record<string, Record<string, number | null>>,
  fusionBeats: Record<string, boolean>,
): string[] {
  return [
    ...tableHeader(['model', ...headers]),
    ...Object.entries(aurocByModel).map(([model, byOutcome]) =>
      tableRow([model, ...manifest.outcomes.map((o) => fixed3(byOutcome[o.coding.code]))]),
    ),
    tableRow([
      'fusion beats best single modality',
      ...manifest.outcomes.map((o) => (fusionBeats[o.coding.code] ? 'yes' : 'no')),
    ]),
  ];
}

/** Render the performance section (Markdown) that goes between the markers. */
export function renderMetricsSection(manifest: ModelManifest, report: ModelMetricsReport): string {
  const lines = splitLines(manifest, report);
  if (report.plots) {
    lines.push(
      '',
      `Plots: ROC curves \`${report.plots.roc}\` and reliability diagrams \`${report.plots.calibration}\` (same-site test split; axes 0–1; dashed diagonal = chance / perfect calibration; colours: ${manifest.outcomes
        .map((o, i) => `${['orange', 'blue', 'green', 'pink'][i % 4]} = ${o.coding.display}`)
        .join(', ')}).`,
    );
  }
  if (report.shiftedSite) {
    lines.push(
      '',
      '### Shifted-site test set (external validity, synthetic)',
      '',
      'A second synthetic site that no training, tuning or design choice looked at: another radiograph detector (contrast curve, exposure, noise), CRP, procalcitonin, troponin, creatinine and glucose reported in that laboratory’s own UCUM units (converted by preprocessing), and a different case mix. The same tables as above.',
      '',
      ...splitLines(manifest, report.shiftedSite),
    );
  }
  return lines.join('\n');
}

/** The tables of one split. */
function splitLines(manifest: ModelManifest, report: Omit<ModelMetricsReport, 'shiftedSite'>): string[] {
  const headers = outcomeHeaders(manifest);
  const lines: string[] = [];
  const splitName = report.dataset.split === 'test' ? 'held-out synthetic test split' : 'shifted-site synthetic test split';
  lines.push(
    `Measured by \`npm run models:evaluate\` on the ${splitName} (${report.dataset.patients} patients; ${report.dataset.description}).`,
    `Evaluated population: ${report.population.patients} patients with ${report.population.requires.join(', ') || 'any modality'} present. These are figures on synthetic data and say nothing about real patients.`,
    '',
    ...tableHeader(['outcome (SNOMED CT)', 'n', 'positives', 'AUROC', 'AUPRC', 'Brier', 'ECE (10 bins)']),
    ...manifest.outcomes.map((o) => {
      const m = report.overall[o.coding.code];
      const figures = [m?.auroc, m?.auprc, m?.brier, m?.ece].map(fixed3);
      return tableRow([`${o.coding.display} (${o.coding.code})`, m?.n ?? 0, m?.positives ?? 0, ...figures]);
    }),
  );
  lines.push('', '**Fairness: AUROC by subgroup** (sex from `Patient.gender`, age in years)', '');
  lines.push(...tableHeader(['subgroup', 'n', ...headers]));
  for (const [group, byOutcome] of Object.entries(report.subgroups)) {
    const n = Object.values(byOutcome)[0]?.n ?? 0;
    lines.push(aurocRow(group, byOutcome, manifest, n));
  }
  const allN = Object.values(report.allModalitiesPresent)[0]?.n ?? 0;
  lines.push(aurocRow('all four modalities present', report.allModalitiesPresent, manifest, allN));
  if (report.modalityRemoved) {
    lines.push('', '**Graceful degradation: AUROC with one modality removed** (fed as missing, mask 0)', '');
    lines.push(...tableHeader(['removed', ...headers]));
    lines.push(aurocRow('none', report.overall, manifest));
    for (const [modality, byOutcome] of Object.entries(report.modalityRemoved))
      lines.push(aurocRow(modality, byOutcome, manifest));
  }
  if (report.comparison) {
    const c = report.comparison;
    lines.push(
      '',
      `**Fusion against single-modality models** (AUROC, ${c.patients} patients with all four modalities)`,
      '',
    );
    lines.push(...comparisonTable(manifest, headers, c.aurocByModel, c.fusionBeatsBestSingleModality));
    const w = c.wholePopulation;
    if (w) {
      lines.push(
        '',
        `**Fusion against single-modality models on the whole evaluated population** (AUROC, ${w.patients} patients; a single-modality model gives its mean probability to patients without its modality, which it cannot assess)`,
        '',
      );
      lines.push(...comparisonTable(manifest, headers, w.aurocByModel, w.fusionBeatsBestSingleModality));
    }
  }
  if (report.statistics) lines.push(...renderStatisticsSection(manifest, report.statistics));
  return lines;
}

/** Replace the text between the markers; appends a section when the card has none. */
export function replaceMetricsSection(card: string, section: string): string {
  const start = card.indexOf(METRICS_START);
  const end = card.indexOf(METRICS_END);
  if (start === -1 || end === -1 || end < start) {
    return `${card.trimEnd()}\n\n## Quantitative measures of performance\n\n${METRICS_START}\n${section}\n${METRICS_END}\n`;
  }
  return `${card.slice(0, start + METRICS_START.length)}\n${section}\n${card.slice(end)}`;
}
