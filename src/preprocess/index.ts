/**
 * Preprocessing: pure functions from FHIR resources and DICOM bytes to model-ready tensors, driven
 * by the model manifest's `preprocessing` section. Nothing here does network or database I/O,
 * and nothing throws on bad input: parsers return {@link PreprocessResult}.
 */
export { fail, ok, type PreprocessResult } from './result.js';
export { describeRule, outcomesNotAssessed, type AvailableEvidence } from './abstention-rules.js';
export { loadVocabulary, preprocessRecord, type InputTensor, type PreprocessedRecord, type PreprocessOptions } from './preprocess-record.js';
export { preprocessTabular, type TabularFeature, type TabularOptions, type TabularResult, type TabularSpec } from './tabular/preprocess-tabular.js';
export { createUcumConverter, type UnitConverter } from './tabular/unit-conversion.js';
export { extractReportText, type ExtractedReportText, type FetchedAttachment, type FetchedAttachmentLookup, type PendingAttachment } from './text/extract-report-text.js';
export { selectReports } from './text/report-selection.js';
export { reportTokens, tokenizeReport, type TextSpec, type TokenizedReport, type TokenizedSentence } from './text/tokenize-report.js';
export { parseVocabulary, type Vocabulary, type VocabularyFile } from './text/vocabulary.js';
export { buildVocabulary, type BuildVocabularyOptions } from './text/build-vocabulary.js';
export { loadCompressedFrameDecoder, type CompressedFrameDecoder } from './imaging/compressed-frame-decoder.js';
export { decodeDicomImage, type DecodedImage, type DecodeLimits } from './imaging/decode-dicom-image.js';
export { normaliseToPart10, TransferSyntaxUid } from './imaging/part10-normalise.js';
export { applyVoi, toModelImage, type ImageSpec, type ModelImage } from './imaging/to-model-image.js';
export { parseSampledData, type SampledSignal } from './ecg/sampled-data.js';
export { ecgFromObservation } from './ecg/ecg-from-observation.js';
export { ecgFromDicomWaveform } from './ecg/ecg-from-dicom-waveform.js';
export { STANDARD_LEADS, type EcgLeads } from './ecg/ecg-leads.js';
export { toModelEcg, type EcgSpec, type ModelEcg } from './ecg/to-model-ecg.js';
export { renderEcgImage } from './ecg/render-ecg-image.js';
