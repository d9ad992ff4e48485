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
