import type { CodeableConcept } from '@medplum/fhirtypes';
import type { ModalityName } from '../contracts/manifest-types.js';
import { AI_DEVICE_TYPE_SYSTEM } from '../contracts/fusion-terminology.js';

/**
 * The data-type codes of the AI Transparency IG's AIdeviceTypeCS ("Classification by Processed Data
 * Type") for each modality a model reads. A rendered ECG image is still a physiological signal, not
 * medical imaging in the IG's sense (X-ray, MRI, CT).
 */
const DATA_TYPE: Record<ModalityName, { code: string; display: string }> = {
  tabular: { code: 'AI-for-Structured-Clinical-Data', display: 'Structured Clinical Data' },
  text: { code: 'AI-for-Medical-Text-Data', display: 'AI for Medical Text Data' },
  image: { code: 'AI-for-Medical-Imaging-Data', display: 'AI for Medical Imaging Data' },
  ecg: { code: 'AI-for-Physiological-Signal-Data', display: 'AI for Physiological Signal Data' },
};

const concept = (code: string, display: string): CodeableConcept => ({
  coding: [{ system: AI_DEVICE_TYPE_SYSTEM, code, display }],
});

/**
 * The values of the IG's `aitransparency.AIKind` extensions for a model that reads `modalities`,
 * from facts every fhir-fusion model shares rather than from a per-model list:
 * - `Machine-Learning-Models` (by technical model): every model is trained from data and served as an
 *   ONNX graph. The finer `Deep-Learning-Models` is not claimed, because the manifest does not say
 *   which graphs are deep networks (a logistic regression is not) and guessing from the name would be
 *   a hard-coded list;
 * - `Deterministic-AI` (by output behaviour): the same input, model and execution provider give the
 *   same output — no sampling at inference;
 * - one data-type code per modality, in the manifest's modality order, and `AI-for-Multimodal-Data`
 *   when there are two or more.
 *
 * Codes from the IG's current AIdeviceTypeCS (1.0.0 continuous build). The 1.0.0-ballot version has
 * no `Deterministic-AI`, `AI-for-Structured-Clinical-Data` or `AI-for-Multimodal-Data`; the AIKind
 * binding is extensible, so a reader on the ballot version still accepts them.
 */
export function aiKindConcepts(modalities: readonly ModalityName[]): CodeableConcept[] {
  const kinds = [
    concept('Machine-Learning-Models', 'Machine Learning Models'),
    concept('Deterministic-AI', 'Deterministic AI'),
    ...modalities.map((m) => concept(DATA_TYPE[m].code, DATA_TYPE[m].display)),
  ];
  if (modalities.length > 1) kinds.push(concept('AI-for-Multimodal-Data', 'Multimodal Data'));
  return kinds;
}
