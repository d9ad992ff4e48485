import type { CaseIndex } from './case-index.js';
import type { EmbeddingModel } from './embedding-model.js';

/** A patient's ECG (model-ready, see `caseFromRecord`) and its interpretation report, to be indexed. */
export interface CaseToIndex {
  /** `Patient/{id}`. */
  patientRef: string;
  /** `Observation/{id}` or `ImagingStudy/{id}` the ECG came from. */
  ecgRef: string;
  /**
   * The ECG encoder's input: `[leads × samples]` row-major in mV (manifest lead order and sample
   * rate) for a waveform encoder, the rendered `[1 × H × W]` image for an image encoder.
   */
  ecgInput: Float32Array;
  ecgRecorded?: string;
  /** `DiagnosticReport/{id}` and the report's text, when the ECG has an interpretation. */
  report?: { ref: string; text: string };
}

/**
 * Embeds a patient's ECG (and report) and stores the case, replacing any older one: call it after
 * an assessment so later patients can find this one. Only references and embeddings are stored.
 */
export async function indexCase(model: EmbeddingModel, index: CaseIndex, entry: CaseToIndex): Promise<void> {
  const [ecgEmbedding] = await model.embedEcg([entry.ecgInput]);
  const [reportEmbedding] = entry.report ? await model.embedText([entry.report.text]) : [];
  await index.upsert({
    patientRef: entry.patientRef,
    ecgRef: entry.ecgRef,
    ...(entry.ecgRecorded ? { ecgRecorded: entry.ecgRecorded } : {}),
    ...(entry.report ? { reportRef: entry.report.ref } : {}),
    ecgEmbedding: ecgEmbedding!,
    ...(reportEmbedding ? { reportEmbedding } : {}),
  });
}
