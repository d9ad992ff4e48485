import { MODALITY_ORDER, type ModalityName } from '../contracts/manifest-types.js';
import { modalityCoding } from '../writeback/fhir-codings.js';
import { METRICS_END } from './metrics-card-section.js';

/** Markers around the generated out-of-distribution section of `card.md`. */
export const OOD_START = '<!-- ood:start -->';
export const OOD_END = '<!-- ood:end -->';

/** What `npm run models:evaluate` measures for one modality's detector (also `manifest.outOfDistribution.evaluation`). */
export interface OodModalityReport {
  method: string;
  threshold: number;
  /** Patients in the training split the statistics (or ranges) were fitted on. */
  referencePatients: number;
  /** Validation-split patients the threshold was set on. */
  calibrationPatients: number;
  /** Held-out test patients with the modality present, and how many were flagged. */
  test: { patients: number; flagged: number; falseAlarmRate: number };
  /** Per shift: test patients with the modality present after the shift, and how many were flagged. */
  shifted: Array<{
    name: string;
    description: string;
    patients: number;
    flagged: number;
    detectionRate: number;
  }>;
}

/** The whole out-of-distribution evaluation of one model. */
export interface OodReport {
  targetFalseAlarmRate: number;
  modalities: Record<string, OodModalityReport>;
}

/**
 * A modality's name in running text: its display in the fhir-fusion modality CodeSystem (what the
 * RiskAssessment extensions write), sentence case — "labs and vital signs", "ECG".
 */
function modalityLabel(modality: string): string {
  if (!(MODALITY_ORDER as readonly string[]).includes(modality)) return modality;
  const display = modalityCoding(modality as ModalityName).display ?? modality;
  return display.replace(/^[A-Z](?=[a-z])/, (c) => c.toLowerCase());
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)} %`;
}

/** Render the card section (Markdown) that goes between the markers. */
export function renderOodSection(report: OodReport): string {
  const lines = [
    `Each modality's input tensor is scored against the training distribution (issue #17); a score above the threshold makes the modality count as missing (\`out-of-distribution\`, with the score and threshold in the RiskAssessment), and the abstention rules decide what can still be said. ` +
      `Thresholds are set by \`npm run models:evaluate\` to ${pct(report.targetFalseAlarmRate)} false alarms on the validation split; the rates below are on the held-out test split (a quantile set on a few hundred patients lands only near its target) and on shifted copies of it. ` +
      'Scores: labs and vital signs, how far (in training standard deviations) the furthest value lies outside the range that feature took in training, so a sick patient whose values all occurred in training is not flagged for being sick; report text, image and ECG, the Mahalanobis distance of summary statistics of the model input tensor (the model graphs expose no embedding). Synthetic data: these rates say nothing about real inputs.',
    '',
    '| modality | score | threshold | false alarms (held-out test) | shift | detected |',
    '| --- | --- | --- | --- | --- | --- |',
  ];
  for (const [modality, m] of Object.entries(report.modalities)) {
    const first = `| ${modalityLabel(modality)} | ${m.method} | ${m.threshold.toFixed(3)} | ${pct(m.test.falseAlarmRate)} (${m.test.flagged}/${m.test.patients}) |`;
    if (m.shifted.length === 0) lines.push(`${first} — | — |`);
    m.shifted.forEach((s, i) =>
      lines.push(
        `${i === 0 ? first : '| | | | |'} ${s.name} | ${pct(s.detectionRate)} (${s.flagged}/${s.patients}) |`,
      ),
    );
  }
  lines.push('', 'Shifts:');
  const seen = new Set<string>();
  for (const m of Object.values(report.modalities)) {
    for (const s of m.shifted) {
      if (seen.has(s.name)) continue;
      seen.add(s.name);
      lines.push(`- ${s.name}: ${s.description}.`);
    }
  }
  return lines.join('\n');
}

/**
 * Replace the text between the OOD markers; a card without them gets the section after the
 * performance section (or at the end).
 */
export function replaceOodSection(card: string, section: string): string {
  const start = card.indexOf(OOD_START);
  const end = card.indexOf(OOD_END);
  if (start !== -1 && end > start)
    return `${card.slice(0, start + OOD_START.length)}\n${section}\n${card.slice(end)}`;
  const block = `## Out-of-distribution detection\n\n${OOD_START}\n${section}\n${OOD_END}\n`;
  const metricsEnd = card.indexOf(METRICS_END);
  if (metricsEnd === -1) return `${card.trimEnd()}\n\n${block}`;
  const after = metricsEnd + METRICS_END.length;
  return `${card.slice(0, after)}\n\n${block}${card.slice(after).replace(/^\n*/, '\n')}`;
}
