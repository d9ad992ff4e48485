import type { AssessmentResult } from '../contracts/assessment-result.js';
import type { ModelManifest } from '../contracts/manifest-types.js';

/** How many input values the note names per outcome: a chart line, not the review app. */
const DRIVERS_PER_OUTCOME = 3;

const MODALITY_TEXT = { tabular: 'labs and vital signs', text: 'report text', image: 'image', ecg: 'ECG' } as const;

function outcomeName(manifest: ModelManifest, index: number): string {
  return manifest.outcomes.find((o) => o.index === index)?.coding.display ?? `outcome ${index}`;
}

function points(delta: number): string {
  const pts = Math.round(delta * 1000) / 10;
  return `${pts >= 0 ? '+' : '−'}${Math.abs(pts).toFixed(1)} pts`;
}

/**
 * The plain-text `RiskAssessment.note` that says why (issue #17): a chart that shows neither
 * extensions nor the narrative still shows "Main drivers: …; not used: …; missing: …; not
 * assessed: …". Only what the RiskAssessment already carries in coded form: outcome and feature
 * names, modality names, missing reasons, unused codes and probability changes in percentage
 * points — no identifiers and no input values. Modality figures are the modality's exact Shapley
 * value (its share of p(all) − p(no modality)); feature figures are single-feature masking deltas.
 */
export function explanationNote(result: AssessmentResult, manifest: ModelManifest): string {
  const parts: string[] = [];
  const drivers = result.predictions
    .map((p, position) => {
      const named = [
        ...result.featureContributions.map((f) => ({ name: f.feature.replace(/_/g, ' '), delta: f.delta[position] ?? 0 })),
        ...result.modalityContributions
          .filter((m) => m.modality !== 'tabular')
          .map((m) => ({ name: MODALITY_TEXT[m.modality], delta: m.delta[position] ?? 0 })),
      ]
        .filter((d) => Math.abs(d.delta) >= 0.0005)
        .sort((a, b) => Math.abs(b.delta) - Math.abs(a.delta))
        .slice(0, DRIVERS_PER_OUTCOME);
      return named.length ? `${outcomeName(manifest, p.outcomeIndex)} — ${named.map((d) => `${d.name} ${points(d.delta)}`).join(', ')}` : undefined;
    })
    .filter((d): d is string => d !== undefined);
  if (drivers.length) parts.push(`Main drivers: ${drivers.join(' | ')}`);
  const unused = result.unusedInputs ?? [];
  if (unused.length) {
    parts.push(`not used: ${unused.map((u) => `${u.code.display ?? u.code.code} (${u.count})`).join(', ')}`);
  }
  if (result.missing.length) {
    parts.push(`missing: ${result.missing.map((m) => `${MODALITY_TEXT[m.modality]} (${m.detail || m.reason})`).join(', ')}`);
  }
  const notAssessed = result.notAssessed ?? [];
  if (notAssessed.length) {
    parts.push(`not assessed: ${notAssessed.map((n) => `${outcomeName(manifest, n.outcomeIndex)} (${n.detail})`).join(', ')}`);
  }
  const text = parts.join('; ');
  return text ? `${text.charAt(0).toUpperCase()}${text.slice(1)}.` : 'No explanation available.';
}
