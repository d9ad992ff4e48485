import { withoutTrailingSlash } from '../../contracts/base-url.js';
/** Prevalence of each latent condition in the generated cohort. */
export interface CohortPrevalence {
  /** Probability of acute heart failure in a patient without atrial fibrillation. */
  acuteHeartFailure: number;
  /** Probability of pneumonia. */
  pneumonia: number;
  /** Probability of atrial fibrillation. */
  atrialFibrillation: number;
  /**
   * Odds ratio applied to acute heart failure when atrial fibrillation is present (the simple
   * dependency between conditions: AF raises the odds of decompensated heart failure).
   */
  heartFailureOddsRatioWithAtrialFibrillation: number;
}

/** Rates at which whole modalities are absent for a patient. */
export interface CohortMissingRates {
  /** No chest radiograph: no ImagingStudy and no DICOM image. */
  image: number;
  /** No ECG: no ECG Observation, no ECG DICOM waveform, no ECG report. */
  ecg: number;
  /** No radiology report (the image may still exist: report pending). */
  report: number;
  /** Probability that any one lab or vital series is not measured. */
  labValue: number;
  /** Probability that a measurement is a data-entry or device error (e.g. heart rate 0 or 999). */
  dataError: number;
  /** Probability that a lab with alternative units is reported in the alternative unit. */
  alternativeUnit: number;
}

/**
 * The hospital a cohort comes from. A second site differs in its radiography detector (contrast
 * curve, exposure, noise), in the units its laboratory reports, and (through `prevalence`) in its
 * case mix: the shifted test set of issue 19 is drawn from such a site, never used for tuning.
 */
export interface CohortSite {
  /** Short name written nowhere in FHIR; for the export's dataset description. */
  name: string;
  /** Detector response applied to each radiograph pixel: displayed = gain × value^gamma. */
  radiographGamma: number;
  radiographGain: number;
  /** Extra quantum noise (standard deviation, fraction of full scale) of this site's detector. */
  radiographExtraNoise: number;
  /** Report labs in this site's own UCUM units (CRP mg/dL, procalcitonin ug/L, troponin ng/mL …). */
  siteLabUnits: boolean;
}

/** The site the training, validation and (same-site) test cohorts come from. */
export const referenceSite: Readonly<CohortSite> = Object.freeze({
  name: 'reference',
  radiographGamma: 1,
  radiographGain: 1,
  radiographExtraNoise: 0,
  siteLabUnits: false,
});

/**
 * A second hospital: a flatter, darker detector curve with more noise, labs in its own units,
 * and a sicker case mix (prevalence set by the caller). Used only for the shifted test set.
 */
export const shiftedSite: Readonly<CohortSite> = Object.freeze({
  name: 'shifted',
  radiographGamma: 0.8,
  radiographGain: 0.9,
  radiographExtraNoise: 0.015,
  siteLabUnits: true,
});

/** Options of the synthetic multimodal cohort. */
export interface CohortOptions {
  /** Number of patients. */
  patients: number;
  /** Seed of the pseudo-random generator: same seed (and `now`) → identical output bytes. */
  seed: number;
  /** End of the 48 h window in which all timestamps fall (default: the current time). */
  now?: Date;
  /** Base URL of the DICOMweb server the `Endpoint` resource points at (WADO-RS). */
  dicomwebBaseUrl: string;
  /** Width and height of the chest radiographs in pixels (default 512). */
  imageSize?: number;
  /** Missing-modality and data-quality rates; unspecified keys take the defaults. */
  rates?: Partial<CohortMissingRates>;
  /** Condition prevalence; unspecified keys take the defaults. */
  prevalence?: Partial<CohortPrevalence>;
  /** The acquisition site (default {@link referenceSite}). */
  site?: CohortSite;
  /**
   * Skip the expensive parts (pixel drawing, waveform synthesis, DICOM encoding). Labels and the
   * FHIR resources that do not derive from a signal are still generated exactly as with signals
   * on (the ECG Observation, its report and its ImagingStudy do derive from the waveform and are
   * left out), so prevalence studies over thousands of patients stay fast. Default false.
   */
  labelsOnly?: boolean;
}

/** Default prevalence. With the AF odds ratio the overall AHF prevalence lands near 20 %. */
export const defaultPrevalence: Readonly<CohortPrevalence> = Object.freeze({
  acuteHeartFailure: 0.17,
  pneumonia: 0.2,
  atrialFibrillation: 0.15,
  heartFailureOddsRatioWithAtrialFibrillation: 2.5,
});

/** Default missing-modality and data-quality rates. */
export const defaultMissingRates: Readonly<CohortMissingRates> = Object.freeze({
  image: 0.12,
  ecg: 0.12,
  report: 0.1,
  labValue: 0.1,
  dataError: 0.01,
  alternativeUnit: 0.3,
});

/** Options with every default filled in. */
export interface ResolvedCohortOptions {
  patients: number;
  seed: number;
  now: Date;
  dicomwebBaseUrl: string;
  imageSize: number;
  rates: CohortMissingRates;
  prevalence: CohortPrevalence;
  site: CohortSite;
  labelsOnly: boolean;
}

function checkProbability(name: string, value: number): void {
  if (!Number.isFinite(value) || value < 0 || value > 1) {
    throw new RangeError(`cohort option ${name} must be a probability in [0, 1], got ${value}`);
  }
}

/**
 * Fills in defaults and checks ranges, naming the offending option.
 * @throws RangeError for out-of-range values.
 */
export function resolveCohortOptions(options: CohortOptions): ResolvedCohortOptions {
  if (!Number.isInteger(options.patients) || options.patients < 0) {
    throw new RangeError(`cohort option patients must be a non-negative integer, got ${options.patients}`);
  }
  if (!Number.isInteger(options.seed))
    throw new RangeError(`cohort option seed must be an integer, got ${options.seed}`);
  const imageSize = options.imageSize ?? 512;
  if (!Number.isInteger(imageSize) || imageSize < 64 || imageSize > 4096) {
    throw new RangeError(`cohort option imageSize must be an integer in [64, 4096], got ${imageSize}`);
  }
  const now = options.now ?? new Date();
  if (Number.isNaN(now.getTime())) throw new RangeError('cohort option now is not a valid date');
  const rates = { ...defaultMissingRates, ...options.rates };
  const prevalence = { ...defaultPrevalence, ...options.prevalence };
  for (const [k, v] of Object.entries(rates)) checkProbability(`rates.${k}`, v);
  checkProbability('prevalence.acuteHeartFailure', prevalence.acuteHeartFailure);
  checkProbability('prevalence.pneumonia', prevalence.pneumonia);
  checkProbability('prevalence.atrialFibrillation', prevalence.atrialFibrillation);
  if (!(prevalence.heartFailureOddsRatioWithAtrialFibrillation > 0)) {
    throw new RangeError('cohort option prevalence.heartFailureOddsRatioWithAtrialFibrillation must be > 0');
  }
  return {
    patients: options.patients,
    seed: options.seed,
    now,
    dicomwebBaseUrl: withoutTrailingSlash(options.dicomwebBaseUrl),
    imageSize,
    rates,
    prevalence,
    site: options.site ?? referenceSite,
    labelsOnly: options.labelsOnly ?? false,
  };
}
