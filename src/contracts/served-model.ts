import type { ModelManifest } from './manifest-types.js';

/** A model the pipeline runs for every patient, as loaded and verified by the registry. */
export interface ServedModel {
  manifest: ModelManifest;
  /** Folder `models/<name>/<version>/`. */
  dir: string;
  /** The model card (markdown) written to the EHR as a DocumentReference. */
  cardMarkdown: string;
  /** sha256 of model.onnx. */
  sha256: string;
}
