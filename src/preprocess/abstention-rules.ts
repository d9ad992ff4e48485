import type { NotAssessedOutcome } from '../contracts/assessment-result.js';
import type { EvidenceRequirement, EvidenceRule, ModalityName, ModelManifest } from '../contracts/manifest-types.js';
import type { MissingReason } from '../contracts/patient-record.js';
import type { TabularFeature } from './tabular/preprocess-tabular.js';

/** What preprocessing left for the model: which modalities are usable, which tabular features present. */
export interface AvailableEvidence {
  presence: Record<ModalityName, boolean>;
  tabularFeatures: readonly Pick<TabularFeature, 'name' | 'present'>[];
  /** Modalities the model consumes that preprocessing refused or did not find, with why. */
  missing: ReadonlyArray<{ modality: ModalityName; reason: MissingReason; detail: string }>;
}

const MODALITY_TEXT: Record<ModalityName, string> = {
  tabular: 'labs and vital signs',
  text: 'a report',
  image: 'an image',
  ecg: 'the ECG',
};

function describeEvidence(e: EvidenceRequirement): string {
  if ('modality' in e) return MODALITY_TEXT[e.modality];
  return e.atLeast === e.features.length && e.features.length === 1
    ? (e.features[0] ?? '')
    : `at least ${e.atLeast} of ${e.features.join(', ')}`;
}

/** Plain-text form of a rule ("the ECG or at least 2 of nt_probnp, …"), for details and cards. */
export function describeRule(rule: EvidenceRule): string {
  return rule.anyOf.map(describeEvidence).join(' or ');
}

function met(e: EvidenceRequirement, evidence: AvailableEvidence): boolean {
  if ('modality' in e) return evidence.presence[e.modality];
  const present = new Set(evidence.tabularFeatures.filter((f) => f.present).map((f) => f.name));
  return e.features.filter((name) => present.has(name)).length >= e.atLeast;
}

function ruleMet(rule: EvidenceRule, evidence: AvailableEvidence): boolean {
  return rule.anyOf.some((e) => met(e, evidence));
}

/**
 * Which outcomes the model must not answer for this patient (issue #17: never a confident answer
 * from input the model was not built for). Judged on what preprocessing left, in this order:
 * 1. a modality in `applicability.requires` that preprocessing refused (e.g. a 3-lead ECG for the
 *    ECG-only model) → every outcome, `required-input-missing`, naming the modality's refusal;
 * 2. `abstention.minimumInformation` not met → every outcome, `too-little-information`;
 * 3. an outcome's own `requires` not met → that outcome, `required-input-missing`.
 * A manifest without rules gets only the first check. Pure; the caller skips inference when every
 * outcome is returned.
 */
export function outcomesNotAssessed(manifest: ModelManifest, evidence: AvailableEvidence): NotAssessedOutcome[] {
  const all = (reason: NotAssessedOutcome['reason'], detail: string): NotAssessedOutcome[] =>
    manifest.outcomes.map((o) => ({ outcomeIndex: o.index, reason, detail }));
  const refused = manifest.applicability.requires
    .map((m) => evidence.missing.find((x) => x.modality === m))
    .filter((x): x is AvailableEvidence['missing'][number] => x !== undefined);
  if (refused.length > 0) {
    return all(
      'required-input-missing',
      refused.map((r) => `${r.modality} not usable (${r.reason}): ${r.detail}`).join('; '),
    );
  }
  const minimum = manifest.abstention?.minimumInformation;
  if (minimum && !ruleMet(minimum, evidence)) {
    return all('too-little-information', `too little information: needs ${describeRule(minimum)}`);
  }
  const out: NotAssessedOutcome[] = [];
  for (const outcome of manifest.outcomes) {
    if (outcome.requires && !ruleMet(outcome.requires, evidence)) {
      out.push({
        outcomeIndex: outcome.index,
        reason: 'required-input-missing',
        detail: `${outcome.coding.display} needs ${describeRule(outcome.requires)}`,
      });
    }
  }
  return out;
}
