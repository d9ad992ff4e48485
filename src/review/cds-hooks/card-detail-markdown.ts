import type { RiskAssessment, RiskAssessmentPrediction } from '@medplum/fhirtypes';
import { readContributions, readNotAssessed } from './read-contributions.js';
import { riskCode } from './risk-indicator.js';

/** How many modalities and values the detail lists (a card is a glance, not the review app). */
const TOP = 3;

/** Escapes CommonMark punctuation in text that comes from data, so it renders literally. */
export function escapeMarkdown(text: string): string {
  return text.replace(/([\\`*_{}[\]()#+\-.!|<>])/g, '\\$1');
}

function signed(delta: number): string {
  const rounded = Math.round(delta * 1000) / 1000;
  return `${rounded >= 0 ? '+' : '−'}${Math.abs(rounded).toFixed(3)}`;
}

/**
 * A probability as a whole percentage for clinicians; never rounds to a certain 0% or 100%, which
 * a model probability does not claim.
 */
export function percent(p: number | undefined): string {
  if (p === undefined) return 'n/a';
  if (p >= 0.995) return '>99%';
  if (p < 0.005) return '<1%';
  return `${Math.round(p * 100)}%`;
}

function outcomeText(p: RiskAssessmentPrediction): string {
  return p.outcome?.text ?? p.outcome?.coding?.[0]?.display ?? p.outcome?.coding?.[0]?.code ?? 'Outcome';
}

/**
 * The card `detail` (CDS Hooks 2.0 §Card attributes: GitHub Flavored Markdown): every predicted
 * outcome with its qualitative risk and probability, the top contributing modalities and input
 * values for the headline outcome (from the RiskAssessment's explanation extensions), missing
 * modalities, when it was assessed, and the model's training-data note. An outcome the model did
 * not assess reads "cannot assess: <reason>" (issue #17).
 */
export function cardDetailMarkdown(ra: RiskAssessment, headline: RiskAssessmentPrediction | undefined): string {
  const lines: string[] = [];
  for (const p of ra.prediction ?? []) {
    lines.push(`- **${escapeMarkdown(outcomeText(p))}**: ${riskCode(p) ?? 'unknown'} risk (${percent(p.probabilityDecimal)})`);
  }
  for (const n of readNotAssessed(ra)) {
    lines.push(`- **${escapeMarkdown(n.outcome)}**: cannot assess: ${escapeMarkdown(n.detail ?? n.reason.toLowerCase())}`);
  }
  const headCode = headline?.outcome?.coding?.[0]?.code ?? '';
  const { modalities, features, missing } = readContributions(ra);
  const byImpact = <T extends { delta: number; outcomeCode: string }>(items: T[]): T[] =>
    items
      .filter((i) => i.outcomeCode === headCode)
      .sort((a, b) => Math.abs(b.delta) - Math.abs(a.delta))
      .slice(0, TOP);
  const topModalities = byImpact(modalities);
  if (topModalities.length > 0 && headline) {
    lines.push('', `**Top contributing modalities** (${escapeMarkdown(outcomeText(headline))}):`);
    for (const m of topModalities) lines.push(`- ${escapeMarkdown(m.modality)}: ${signed(m.delta)}`);
  }
  const topFeatures = byImpact(features);
  if (topFeatures.length > 0) {
    lines.push('', '**Top contributing values:**');
    for (const f of topFeatures) {
      const value = f.value === undefined ? '' : ` ${f.value}${f.unit ? ` ${f.unit}` : ''}`;
      lines.push(`- ${escapeMarkdown(f.feature.replace(/_/g, ' '))}${escapeMarkdown(value)}: ${signed(f.delta)}`);
    }
  }
  if (missing.length > 0) {
    lines.push('', `Assessed without: ${missing.map((m) => `${escapeMarkdown(m.modality)} (${escapeMarkdown(m.reason.toLowerCase())})`).join(', ')}.`);
  }
  const when = ra.occurrenceDateTime ? new Date(ra.occurrenceDateTime).toISOString().slice(0, 16).replace('T', ' ') : undefined;
  lines.push('', `AI-generated${when ? `, assessed ${when} UTC` : ''}.`);
  for (const note of ra.note ?? []) if (note.text) lines.push(`_${escapeMarkdown(note.text)}_`);
  return lines.join('\n');
}
