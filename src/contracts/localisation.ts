/**
 * Lesion localisation contracts (issue #20): the model side produces per-outcome maps on its own
 * output grid; the preprocessing side records where the model input sits in the source image, so
 * the write-back can map a map back to the source pixel grid (un-pad, un-resize) for a DICOM
 * Segmentation that references the source instance (PS3.3 A.51, IHE AI Results).
 */

/**
 * Where the model input came from in the source frame: aspect-preserving scale, then centred
 * padding (`toModelImage`). Source coordinates are DICOM pixel columns (x) and rows (y).
 */
export interface ImageGeometry {
  /** Columns (0028,0011) and Rows (0028,0010) of the decoded source frame. */
  sourceWidth: number;
  sourceHeight: number;
  /** The model input grid. */
  modelWidth: number;
  modelHeight: number;
  /** Top-left corner and size of the resized source inside the model grid (the rest is padding). */
  offsetX: number;
  offsetY: number;
  scaledWidth: number;
  scaledHeight: number;
}

/**
 * One outcome's class-activation map on the model's output grid, row-major, in logit units: a
 * faithful map, i.e. the mean over its cells plus a per-patient constant equals the outcome's logit
 * from the image branch, so a cell's value is that region's share of the score.
 */
export interface OutcomeMap {
  /** Index into `manifest.outcomes`. */
  outcomeIndex: number;
  width: number;
  height: number;
  values: Float32Array;
}

/**
 * One image finding's region map from a finding localiser (issue 20, output role `finding-map`):
 * per cell of the model's output grid, row-major, the logit that the cell lies in the finding's
 * region — trained on ground-truth regions, so it says where the finding is *given* that it is
 * there; `probability` (role `finding-probabilities`) says whether it is there.
 */
export interface FindingMap {
  /** Index into `manifest.imageFindings`. */
  findingIndex: number;
  /** Probability that the image shows the finding. */
  probability: number;
  width: number;
  height: number;
  values: Float32Array;
}

/** The source DICOM instance an assessment's image came from: what a Segmentation must reference. */
export interface SourceImageInstance {
  studyInstanceUid: string;
  seriesInstanceUid: string;
  sopInstanceUid: string;
  /** SOP Class UID (0008,0016) of the source, for Referenced SOP Class UID in the SEG. */
  sopClassUid: string;
  /** Frame of Reference UID (0020,0052) when the source has one (projection radiographs often do not). */
  frameOfReferenceUid?: string;
  /** The frame the model read (1-based, as Referenced Frame Number counts); always 1 for a mappable image. */
  frameNumber: number;
  /**
   * The source's Patient and General Study module elements (PS3.3 C.7.1.1, C.7.2.1) as DICOM JSON
   * by tag, copied into the SEG so the PACS files it in the same patient and study. Patient data:
   * kept in memory for the SEG only, never logged or written to FHIR.
   */
  studyElements: Record<string, { vr: string; Value?: unknown[] }>;
  /** The DICOMweb base the instance came from: the PACS its SEG is stored to (STOW-RS). */
  dicomwebBaseUrl?: string;
  /** The ImagingStudy version the instance was found through (FHIR `derivedFrom`). */
  imagingStudy: { resourceType: 'ImagingStudy'; id: string; versionId?: string };
}

/**
 * Why a localisation map was not mapped back onto the source image (CodeSystem
 * `localisation-not-mapped-reason`): `multiframe` — Number of Frames (0028,0008) > 1;
 * `rotated-or-flipped` — the instance carries Image Rotation (0070,0042) ≠ 0 or Image Horizontal
 * Flip (0070,0041) = Y (PS3.3 C.10.6); `cropped` — it carries a Displayed Area Selection Sequence
 * (0070,005A, PS3.3 C.10.4); `not-for-presentation` — Presentation Intent Type (0008,0068) is
 * FOR PROCESSING (PS3.3 C.8.11.1); `no-source-instance` — the instance's identity could not be read;
 * `not-validated` — the model's held-out localisation evaluation (manifest `metrics.localisation`)
 * does not show that the map points at the lesion, or there is none (LOCALISATION_MIN_POINTING_GAME).
 */
export type LocalisationNotMappedReason =
  | 'multiframe'
  | 'rotated-or-flipped'
  | 'cropped'
  | 'not-for-presentation'
  | 'no-source-instance'
  | 'not-validated';

/**
 * What the write-back needs to localise an assessment's findings: the maps on the model grid, where
 * the model input sat in the source frame, and the source instance — or why it cannot be mapped.
 */
export interface AssessmentLocalisation {
  /** The model's per-outcome maps (model output grid). */
  maps: OutcomeMap[];
  /** The model's finding maps with their presence probabilities (model output grid), when it has a finding localiser. */
  findingMaps?: FindingMap[];
  /** Absent only with `notMapped`. */
  source?: SourceImageInstance;
  /** Absent only with `notMapped`. */
  geometry?: ImageGeometry;
  /**
   * Set when the maps cannot be placed on the source pixel grid: no SEG, no finding, a named reason;
   * also set at write-back (`not-validated`) for the called findings whose map is not validated,
   * the only reason that can stand beside findings of other outcomes whose map is.
   */
  notMapped?: { reason: LocalisationNotMappedReason; detail: string };
}
