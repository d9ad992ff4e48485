/**
 * Clinical description generation contracts (issue #20): an image(+report context) → text model
 * drafts a radiology description, written back as a `preliminary` FHIR DiagnosticReport (R4
 * DiagnosticReport.status: "preliminary — verified early results are available, but not all
 * results are final") that only a clinician's acceptance turns `final`.
 */

/** A drafted description, or why none was drafted. */
export type DescriptionDraftResult =
  | {
      status: 'drafted';
      /** The generated text: capped in length, never containing a patient identifier. */
      text: string;
      /** True when decoding stopped at the length cap rather than at the end token. */
      truncated: boolean;
      modelName: string;
      modelVersion: string;
      /** sha256 of the model files, for the Device and Provenance. */
      modelSha256: string;
    }
  | {
      status: 'not-drafted';
      /** Plain text naming why (no patient values): e.g. the image was refused in preprocessing. */
      reason: string;
    };

/**
 * The drafting model as the pipeline sees it: given the preprocessed model image (`[1, H, W]`
 * row-major, normalised as the drafting model's manifest says) and optional report-context token
 * ids, returns a draft. Runs off the event loop (worker thread), like the risk models.
 */
export interface DescriptionDrafter {
  readonly modelName: string;
  readonly modelVersion: string;
  draft(input: {
    image: Float32Array;
    imageDims: [number, number, number];
    contextTokens?: Int32Array;
    /**
     * Set when preprocessing refused the image or the patient has none (the named reason, no
     * patient values): the drafter then answers `not-drafted` naming it and runs nothing, since a
     * model never answers from input it was not built for. `image` may be empty then.
     */
    imageUnavailable?: string;
  }): Promise<DescriptionDraftResult>;
  close(): Promise<void>;
}
