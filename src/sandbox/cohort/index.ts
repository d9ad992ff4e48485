/**
 * Synthetic multimodal cohort: patients whose labs, vitals, report text, chest radiographs and
 * ECGs agree with each other through shared latent conditions. For the demo, tests and
 * benchmarks only; the pipeline never imports `src/sandbox/`.
 */
export type {
  CohortMissingRates,
  CohortOptions,
  CohortSite,
  CohortPrevalence,
  ResolvedCohortOptions,
} from './cohort-options.js';
export {
  defaultMissingRates,
  defaultPrevalence,
  referenceSite,
  resolveCohortOptions,
  shiftedSite,
} from './cohort-options.js';
export type { CohortLabel, GeneratedDicomInstance, GeneratedPatient } from './generate-patient.js';
export { cohortPatientId, generateCohort, generatePatient } from './generate-patient.js';
export type { LatentConditions } from './latent-state.js';
export { CARDIOMEGALY_CTR } from './latent-state.js';
export type { LesionMasks, LesionType } from './chest-radiograph-pixels.js';
export { LESION_TYPES } from './chest-radiograph-pixels.js';
export type { LoadCohortOptions, LoadProgress, LoadSummary } from './load-cohort.js';
export { CohortLoadError, loadCohort, transactionBundle } from './load-cohort.js';
export { prevalenceTable } from './prevalence-table.js';
export { renderEcgPng } from './render-ecg-png.js';
export { renderRadiographPng } from './render-radiograph-png.js';
export type { Rng } from './seeded-random.js';
export { createRng } from './seeded-random.js';
export type { CohortManifest, CohortProgress } from './write-cohort.js';
export { writeCohort } from './write-cohort.js';
