/**
 * The model manifest: `models/<name>/<version>/manifest.json`.
 *
 * Modelled on Triton's model configuration (every input and output tensor named with dtype and
 * shape) plus what a clinical model needs on top: how each modality is preprocessed, which coded
 * outcomes the outputs mean, thresholds for `RiskAssessment.prediction.qualitativeRisk`, and where
 * the model applies. The JSON Schema in `manifest-schema.ts` validates files against this shape.
 */

/** The four input modalities fhir-fusion assembles for a patient. */
export type ModalityName = 'tabular' | 'text' | 'image' | 'ecg';

/** Fixed order of modalities wherever a presence vector is used (`modality_mask`). */
export const MODALITY_ORDER: readonly ModalityName[] = ['tabular', 'text', 'image', 'ecg'];

/** ONNX tensor element types the server feeds or reads. */
export type TensorDtype = 'float32' | 'int64' | 'int32' | 'bool';

/**
 * One graph input or output. `shape` uses -1 for a dynamic axis (the batch axis is always the
 * first and always dynamic).
 */
export interface TensorSpec {
  name: string;
  dtype: TensorDtype;
  shape: number[];
  /**
   * What the tensor carries: for inputs, which preprocessed array feeds it; for outputs,
   * `probabilities` ([batch, outcomes], after the model's own sigmoid), `embedding`, or the
   * image model's faithful localisation map `localisation` ([batch, outcomes, h, w], logit units;
   * issue 20) with its `localisation-offset` ([batch, outcomes]: map mean + offset = the logit),
   * or the finding localiser's `finding-map` ([batch, findings, h, w]: per cell, the logit that the
   * cell lies in the finding's region) with its `finding-probabilities` ([batch, findings]: whether
   * the image shows the finding), channel f being `imageFindings[].index` f.
   */
  role:
    | 'tabular-values'
    | 'tabular-mask'
    | 'text-tokens'
    | 'text-attention-mask'
    | 'text-token-types'
    | 'image'
    | 'ecg-waveform'
    | 'ecg-image'
    | 'modality-mask'
    | 'probabilities'
    | 'embedding'
    | 'localisation'
    | 'localisation-offset'
    | 'finding-map'
    | 'finding-probabilities';
}

/** A coded concept, as in FHIR `Coding`. */
export interface ManifestCoding {
  system: string;
  code: string;
  display: string;
}

/** One tabular feature: which LOINC codes feed it, its canonical UCUM unit and how it is summarised. */
export interface TabularFeatureSpec {
  /** Stable feature name, used in explanations (`heart_rate`, `creatinine`, `age_years`). */
  name: string;
  /** LOINC codes accepted for this feature (e.g. glucose mass and molar concentration codes). */
  loinc: string[];
  /** Canonical UCUM unit the value is converted into before normalisation (e.g. `mg/dL`). */
  unit: string;
  /** Molecular weight in g/mol, for mol-based to mass-based conversions (UCUM needs it). */
  molecularWeight?: number;
  /** Summary over the look-back window. */
  aggregate: 'last' | 'min' | 'max' | 'mean' | 'trend';
  /** Physiologically possible range in `unit`; values outside are rejected with a reason. */
  plausible: { min: number; max: number };
  /** Normalisation statistics in `unit`: feature = (value - mean) / std. */
  mean: number;
  std: number;
  /** Special sources: `age` from Patient.birthDate, `sex` from Patient.gender (1 = female). */
  source?: 'observation' | 'age' | 'sex';
}

/** Per-modality preprocessing, each optional: a model consumes only the modalities it declares. */
export interface ModalityPreprocessing {
  tabular?: {
    lookbackHours: number;
    features: TabularFeatureSpec[];
  };
  text?: {
    lookbackHours: number;
    /** DiagnosticReport.category codes accepted (v2-0074 `RAD`, `CUS`/`EC`, ...). */
    categories: string[];
    /** Vocabulary file in the version folder (JSON `{ "tokens": [...] }`, index = id; 0 = pad, 1 = unknown). */
    tokenizer: string;
    maxTokens: number;
    lowercase: boolean;
    /** Prefix negated tokens (`no focal consolidation` → `NEG_consolidation`); word tokenizer only. */
    negationPrefix?: string;
    /**
     * `word` (default, the shipped models): the word vocabulary above, NegEx prefixes;
     * `wordpiece`: BERT-style subwords, `tokenizer` then names a `vocab.txt` (one token per line,
     * line number = id) that must be listed in `files` (docs/bring-your-own-model.md).
     */
    tokenizerType?: 'word' | 'wordpiece';
    /** WordPiece settings; every field has BERT's default. */
    wordpiece?: WordpieceSpec;
  };
  image?: {
    lookbackHours: number;
    /** DICOM Modality values accepted (`CR`, `DX`). */
    modalities: string[];
    bodyPart: string;
    /** Body Part Examined (0018,0015) values accepted; defaults to `[bodyPart]` when absent. */
    bodyParts?: string[];
    /** View Position (0018,5101) values accepted; empty accepts any. */
    viewPositions: string[];
    /** Attributes whose absence is accepted; any other missing attribute with an allow-list refuses the image. */
    allowMissingTags?: Array<'Modality' | 'BodyPartExamined' | 'ViewPosition'>;
    /** Model input height and width in pixels. */
    size: [number, number];
    mean: number;
    std: number;
  };
  ecg?: {
    lookbackHours: number;
    /** Model sample rate in Hz. */
    sampleRateHz: number;
    durationSeconds: number;
    /** Lead order the model expects, by standard name (`I`, `II`, `III`, `aVR`, ... `V6`). */
    leads: string[];
    /** `waveform`: leads × samples in mV; `image`: the 12-lead rendering, [1, H, W]. */
    representation: 'waveform' | 'image';
    imageSize?: [number, number];
    /** What a recording must satisfy before it is used (checked on the recorded values, in mV). */
    inputContract?: EcgInputContract;
  };
}

/** A WordPiece tokenizer's settings (`preprocessing.text.wordpiece`); `maxTokens` counts `[CLS]` and `[SEP]`. */
export interface WordpieceSpec {
  /** Drop accents after NFD decomposition; defaults to `lowercase` (BERT uncased). */
  stripAccents?: boolean;
  /** Prefix of a piece continuing a word; default `##`. */
  continuationPrefix?: string;
  /** Longer words become the unknown token; default 100. */
  maxCharsPerWord?: number;
  /** The vocabulary's special tokens; defaults `[UNK]`, `[CLS]`, `[SEP]`, `[PAD]`. */
  specialTokens?: { unknown?: string; classification?: string; separator?: string; padding?: string };
}

/** The ECG input contract: leads, duration and per-lead amplitude plausibility (see `checkEcgContract`). */
export interface EcgInputContract {
  /** Leads that must be recorded (limb leads may be derived from I and II). */
  requiredLeads: string[];
  minDurationSeconds: number;
  /** Largest plausible excursion from a lead's median, in mV. */
  maxAbsMv: number;
  /** Smallest plausible peak-to-peak amplitude, in mV; below is a flat line. */
  minPeakToPeakMv: number;
  /** Largest fraction of samples allowed at a lead's own minimum or maximum; above is clipping. */
  maxSaturatedFraction: number;
}

/** Thresholds mapping a probability to a risk-probability code (http://terminology.hl7.org/CodeSystem/risk-probability). */
export interface QualitativeThreshold {
  /** Inclusive lower bound of the band. */
  min: number;
  code: 'negligible' | 'low' | 'moderate' | 'high' | 'certain';
}

/**
 * One image finding a model locates (issue 20): the channel of its `finding-map` and
 * `finding-probabilities` outputs, what it is (SNOMED CT), and the presence probability at or above
 * which the model calls it (and only then shows where it is).
 */
export interface ImageFindingSpec {
  index: number;
  coding: ManifestCoding;
  threshold: number;
}

/** One predicted outcome: output index, code and thresholds. */
export interface OutcomeSpec {
  index: number;
  coding: ManifestCoding;
  thresholds: QualitativeThreshold[];
  /** Platt scaling applied to the logit of the raw probability, or none. */
  calibration?: { method: 'platt'; a: number; b: number } | { method: 'none' };
  /**
   * What this outcome needs besides the model-wide minimum (e.g. atrial fibrillation: the ECG or
   * at least two labs). Unmet → no probability is written for it, only "not assessed" (issue #17).
   */
  requires?: EvidenceRule;
}

/**
 * One piece of evidence an assessment can rest on, judged after preprocessing (a refused ECG is
 * not evidence): a modality that is present, or at least `atLeast` of the named tabular features
 * present in the look-back window.
 */
export type EvidenceRequirement = { modality: ModalityName } | { features: string[]; atLeast: number };

/** Satisfied when any one of `anyOf` is. */
export interface EvidenceRule {
  anyOf: EvidenceRequirement[];
}

/**
 * When the model must abstain (issue #17): with less than this it writes "not assessed: too little
 * information" for every outcome instead of a probability extrapolated from a nearly empty input.
 */
export interface AbstentionRules {
  minimumInformation: EvidenceRule;
}

/**
 * What every served model's manifest states about itself, risk model or embedding model: identity,
 * provenance of its training data, and the digest of each file it ships.
 */
export interface ModelManifestHeader {
  schemaVersion: 1;
  name: string;
  version: string;
  title: string;
  description: string;
  /** Always stated: the reference models are trained on synthetic data. */
  trainingData: { synthetic: boolean; description: string };
  /** sha256 (hex) of every file in the version folder except the manifest itself. */
  files: Record<string, string>;
}

/** The whole manifest. */
export interface ModelManifest extends ModelManifestHeader {
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  preprocessing: ModalityPreprocessing;
  outcomes: OutcomeSpec[];
  /** The image findings a `finding-map` output locates, by channel (issue 20). */
  imageFindings?: ImageFindingSpec[];
  applicability: {
    /** Modalities that must be present for an assessment to be made. */
    requires: ModalityName[];
    /** Modalities the model tolerates missing (assessment degrades, names them). */
    toleratesMissing: ModalityName[];
  };
  /** Minimum information for any probability; per-outcome needs are in `outcomes[].requires`. */
  abstention?: AbstentionRules;
  /** Out-of-distribution detectors per modality, calibrated by `npm run models:evaluate` (issue #17). */
  outOfDistribution?: OutOfDistributionSpec;
  /**
   * Evaluation figures written by `npm run models:evaluate`; free form except `localisation`,
   * which the serving side reads to decide whether a map may be shown (issue #20).
   */
  metrics?: Record<string, unknown> & { localisation?: LocalisationMetrics };
}

/** A mean over held-out images with its 95 % bootstrap interval (`null` bounds: too few images). */
export interface MeanWithBounds {
  mean: number;
  lower: number | null;
  upper: number | null;
}

/**
 * How well a model's localisation map points at one lesion type on a held-out split (issue #20),
 * against ground-truth lesion masks: `models:evaluate` writes it for the shipped models; a BYO
 * model states its own. Without it a map is not validated and never shown (no SEG, no finding).
 */
export interface LocalisationLesionMetrics {
  /** The lesion type as the evaluation data names it, e.g. `cardiomegaly`. */
  lesion: string;
  /** The image finding (SNOMED CT) the lesion is: what a served SEG segment and Observation would say. */
  finding: ManifestCoding;
  /**
   * Code of the outcome (`outcomes[].coding.code`) whose class-activation map was scored; absent
   * for the finding map (`finding-map`, the channel of `finding`).
   */
  outcome?: string;
  /** Held-out images with the lesion present that were scored. */
  images: number;
  /** Share of images where the map's maximum falls on the lesion (pointing game). */
  pointingGame: MeanWithBounds;
  /** IoU of the map thresholded at half its range with the lesion mask. */
  iou: MeanWithBounds;
  /** Pointing game of the baseline map: the training split's mean lesion mask, the same for every image. */
  priorPointingGame: MeanWithBounds;
  /**
   * Finding maps only: how the presence call (`finding-probabilities` ≥ the finding's threshold)
   * does on every held-out image: precision (of the images called, the share that show the
   * finding) and recall (of those that show it, the share called).
   */
  presence?: { threshold: number; precision: MeanWithBounds; recall: MeanWithBounds };
}

/** The localisation evaluation of a model (`metrics.localisation`). */
export interface LocalisationMetrics {
  /** The held-out split the figures come from (e.g. `test`). */
  split: string;
  lesions: LocalisationLesionMetrics[];
}

/**
 * How a modality's input tensor is scored against the training distribution (issue #17):
 * - `tabular-range`: how far, in training standard deviations, the furthest present feature lies
 *   outside the range that feature took in training (`low`/`high`, on the z-scores the model is
 *   fed). A very sick patient whose values all occurred in training is not flagged for being sick;
 *   a doubled potassium that no training patient had is;
 * - `summary-mahalanobis`: Mahalanobis distance of summary statistics of the tensor (named in
 *   `statistics`, computed by `src/preprocess/ood/tensor-summary.ts`) from their training mean.
 * The model graphs expose no embedding output, so the score is on the tensor the model sees.
 */
export interface OodDetector {
  method: 'tabular-range' | 'summary-mahalanobis';
  /** `tabular-range`: per feature (manifest order), the smallest and largest z-score seen in training. */
  low?: number[];
  high?: number[];
  /** `summary-mahalanobis`: statistic names, in the order of `center`, `scale` and `precision`. */
  statistics?: string[];
  /** Training mean of each statistic. */
  center?: number[];
  /** Training standard deviation of each statistic (floored), dividing before `precision`. */
  scale?: number[];
  /** Inverse of the (ridge-regularised) covariance of the standardised statistics, row-major. */
  precision?: number[][];
  /** Scores above this are out of distribution; the (1 − target) quantile on held-out data. */
  threshold: number;
}

/** The manifest's `outOfDistribution` section. */
export interface OutOfDistributionSpec {
  /** False-alarm rate the thresholds were set to on held-out in-distribution patients (e.g. 0.01). */
  targetFalseAlarmRate: number;
  /** Where the statistics and thresholds come from (splits, patient counts); synthetic data. */
  calibration: string;
  modalities: Partial<Record<ModalityName, OodDetector>>;
  /** Rates measured by `npm run models:evaluate` on the test split and shifted copies of it. */
  evaluation?: Record<string, unknown>;
}
