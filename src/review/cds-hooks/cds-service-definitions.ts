import { AIAST } from '../../contracts/fusion-terminology.js';
import type { CdsServiceDefinition } from './cds-hooks-types.js';

/** Prefetch keys this service understands. */
export const PREFETCH_KEYS = { patient: 'patient', assessments: 'assessments', drafts: 'drafts' } as const;

/**
 * Prefetch templates (CDS Hooks 2.0 §Prefetch template): the patient, and the patient's
 * AI-asserted RiskAssessments newest first. `patient` and `_security` are FHIR R4 RiskAssessment
 * search parameters; fhir-fusion labels everything it writes with AIAST.
 */
const PREFETCH: Record<string, string> = {
  [PREFETCH_KEYS.patient]: 'Patient/{{context.patientId}}',
  [PREFETCH_KEYS.assessments]:
    `RiskAssessment?patient={{context.patientId}}&_security=${AIAST.system}|${AIAST.code}&_sort=-date&_count=20`,
  // Issue #20: preliminary AI-drafted descriptions awaiting a clinician's review (mentioned on the card).
  [PREFETCH_KEYS.drafts]: `DiagnosticReport?patient={{context.patientId}}&_security=${AIAST.system}|${AIAST.code}&status=preliminary&_count=5`,
};

const USAGE =
  'Register with a JWT signing key (ES384 or RS384) whose JWKS URL is configured in CDS_HOOKS_CLIENTS. ' +
  'Send the prefetch, or fhirServer with fhirAuthorization allowing patient/Patient.r and patient/RiskAssessment.rs. ' +
  'Reference models are trained on synthetic data: not for clinical use.';

/** The services this server offers, in discovery order. */
export const CDS_SERVICES: readonly CdsServiceDefinition[] = [
  {
    hook: 'patient-view',
    id: 'fhir-fusion-patient-view',
    title: 'fhir-fusion multimodal risk',
    description:
      "Shows the patient's latest fhir-fusion multimodal risk assessment (labs, report text, images, ECG) with its main contributing modalities and a link into the review app.",
    prefetch: PREFETCH,
    usageRequirements: USAGE,
  },
  {
    hook: 'encounter-start',
    id: 'fhir-fusion-encounter-start',
    title: 'fhir-fusion multimodal risk at encounter start',
    description:
      "At the start of an encounter, shows the patient's latest fhir-fusion multimodal risk assessment and a link into the review app.",
    prefetch: PREFETCH,
    usageRequirements: USAGE,
  },
];

/** The service with this id, or `undefined`. */
export function findCdsService(id: string): CdsServiceDefinition | undefined {
  return CDS_SERVICES.find((s) => s.id === id);
}
