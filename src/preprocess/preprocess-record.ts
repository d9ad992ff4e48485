import { readFileSync } from 'node:fs';
import type { StageClock } from '../observability/stage-clock.js';
import { join } from 'node:path';
import type { MissingReason, PatientRecord, VersionedReference } from '../contracts/patient-record.js';
import { MODALITY_ORDER, type ModalityName, type ModelManifest, type TensorDtype } from '../contracts/manifest-types.js';
import { ecgLeadsFromSource } from './ecg/ecg-from-record-source.js';
import { renderEcgImage } from './ecg/render-ecg-image.js';
import { checkEcgContract } from './ecg/ecg-input-contract.js';
import { toModelEcg } from './ecg/to-model-ecg.js';
import type { CompressedFrameDecoder } from './imaging/compressed-frame-decoder.js';
import { decodeDicomImage } from './imaging/decode-dicom-image.js';
import { checkImageContract } from './imaging/image-input-contract.js';
import type { LibraryMessageSink } from './imaging/dicom-dataset.js';
import { toModelImage } from './imaging/to-model-image.js';
import { checkOutOfDistribution } from './ood/out-of-distribution.js';
import type { NotAssessedOutcome, UnusedInput } from '../contracts/assessment-result.js';
import { outcomesNotAssessed } from './abstention-rules.js';
import { fail, ok, type PreprocessResult } from './result.js';
import { preprocessTabular, type TabularFeature } from './tabular/preprocess-tabular.js';
import { createUcumConverter, type UnitConverter } from './tabular/unit-conversion.js';
import { unusedObservations } from './tabular/unused-observations.js';
import { extractReportText, type FetchedAttachmentLookup } from './text/extract-report-text.js';
import { selectReports } from './text/report-selection.js';
import { tokenizeReport, type TextSpec } from './text/tokenize-report.js';
import { parseVocabulary, type Vocabulary } from './text/vocabulary.js';
import { encodeWordpiece, parseWordpieceVocabulary, reportTextForSubwords, wordpieceSettings } from './text/wordpiece-encoding.js';
import { tensorCacheKey, type TensorCache } from './tensor-cache.js';

/** One input tensor for ONNX Runtime (batch axis of 1 included). */
export interface InputTensor {
  dtype: TensorDtype;
  dims: number[];
  data: Float32Array | BigInt64Array;
}

/** Everything inference needs for one patient, with what was missing and why. */
export interface PreprocessedRecord {
  /** Keyed by the manifest's input name. */
  tensors: Record<string, InputTensor>;
  presence: Record<ModalityName, boolean>;
  /** Modalities the model consumes that could not be used, with a reason free of patient data. */
  missing: Array<{ modality: ModalityName; reason: MissingReason; detail: string }>;
  /** Per-feature detail of the tabular input (empty when the model has no tabular input). */
  tabularFeatures: TabularFeature[];
  /** Resource versions actually used by the modalities that are present. */
  sources: VersionedReference[];
  /**
   * Resource versions of modalities that were fetched but refused in preprocessing (wrong body
   * part, unusable ECG): what the model considered and declined, for the basis of an assessment
   * that abstains on everything.
   */
  refusedSources: VersionedReference[];
  /** Outcomes the model must not answer from what is left (see `outcomesNotAssessed`). */
  notAssessed: NotAssessedOutcome[];
  /** Observations in the window that no tabular feature of this model uses (see `unusedObservations`). */
  unusedInputs: UnusedInput[];
}

/** Dependencies and caches for {@link preprocessRecord}; load them once per process/model. */
export interface PreprocessOptions {
  /** The model's tokenizer vocabulary; when absent it is read from `modelDir` (callers should cache). */
  vocabulary?: Vocabulary;
  /** WASM codecs for compressed DICOM (see `loadCompressedFrameDecoder`). */
  codecs?: CompressedFrameDecoder;
  convertUnit?: UnitConverter;
  /** presentedForm URL attachments the caller has fetched (after its allow-list). */
  fetchedAttachments?: FetchedAttachmentLookup;
  /** Largest image frame accepted, in pixels (default 50 megapixels). */
  maxImagePixels?: number;
  /** Receives what DICOM libraries would have printed (counted and logged at debug by the caller; never the console). */
  onLibraryMessage?: LibraryMessageSink;
  /**
   * Preprocessed image and ECG tensors already computed for the same input content and settings
   * (issue #26); absent: every input is decoded. A hit yields the same arrays a decode would.
   */
  tensorCache?: TensorCache;
  /** Charges each modality's preprocessing to its own stage (issue 26 `bench cpu-per-patient`). */
  stageClock?: Pick<StageClock, 'run'>;
}

/**
 * Reads and parses the tokenizer vocabulary of a model version folder: the word vocabulary's JSON,
 * or a WordPiece `vocab.txt` when `tokenizerType` is `wordpiece`.
 */
export function loadVocabulary(
  modelDir: string,
  spec: Pick<TextSpec, 'tokenizer' | 'lowercase' | 'tokenizerType' | 'wordpiece'>,
): PreprocessResult<Vocabulary> {
  let content: string;
  let json: unknown;
  try {
    content = readFileSync(join(modelDir, spec.tokenizer), 'utf8');
    if (spec.tokenizerType === 'wordpiece') return parseWordpieceVocabulary(content, wordpieceSettings(spec));
    json = JSON.parse(content);
  } catch {
    return fail('invalid-value', `tokenizer file ${spec.tokenizer} could not be read`);
  }
  return parseVocabulary(json);
}

/**
 * The text modality's arrays by input role. The word tokenizer's attention mask marks the positions
 * holding a token (ids before truncation and padding), so either tokenizer can feed a graph that
 * takes one; the word tokenizer has one segment, so its token types are zeros as well.
 */
function textArrays(text: string, vocabulary: Vocabulary, spec: TextSpec): ModalityOutput['arrays'] {
  if (spec.tokenizerType === 'wordpiece') {
    const e = encodeWordpiece(reportTextForSubwords(text), vocabulary, wordpieceSettings(spec), spec.maxTokens);
    return { 'text-tokens': e.ids, 'text-attention-mask': e.attentionMask, 'text-token-types': e.tokenTypes };
  }
  const report = tokenizeReport(text, vocabulary, spec);
  const attentionMask = new BigInt64Array(spec.maxTokens).fill(1n, 0, Math.min(report.tokens.length, spec.maxTokens));
  return { 'text-tokens': report.ids, 'text-attention-mask': attentionMask, 'text-token-types': new BigInt64Array(spec.maxTokens) };
}

interface ModalityOutput {
  arrays: Partial<Record<string, Float32Array | BigInt64Array>>;
  sources: VersionedReference[];
}

function expectedDims(manifest: ModelManifest): Partial<Record<string, number[]>> {
  const p = manifest.preprocessing;
  const dims: Partial<Record<string, number[]>> = {};
  if (p.tabular) dims['tabular-values'] = dims['tabular-mask'] = [p.tabular.features.length];
  if (p.text) dims['text-tokens'] = dims['text-attention-mask'] = dims['text-token-types'] = [p.text.maxTokens];
  if (p.image) dims.image = [1, p.image.size[0], p.image.size[1]];
  if (p.ecg) {
    dims['ecg-waveform'] = [p.ecg.leads.length, Math.round(p.ecg.durationSeconds * p.ecg.sampleRateHz)];
    const size = p.ecg.imageSize ?? [256, 512];
    dims['ecg-image'] = [1, size[0], size[1]];
  }
  dims['modality-mask'] = [MODALITY_ORDER.length];
  return dims;
}

/** The modality each input role belongs to (`modality-mask` belongs to none). */
export const ROLE_MODALITY: Partial<Record<string, ModalityName>> = {
  'tabular-values': 'tabular', 'tabular-mask': 'tabular', 'text-tokens': 'text', 'text-attention-mask': 'text', 'text-token-types': 'text', image: 'image', 'ecg-waveform': 'ecg', 'ecg-image': 'ecg',
};

/**
 * Preprocesses an assembled patient record into the model's input tensors, driven by
 * `manifest.inputs[].role` and `manifest.preprocessing`. A modality that is missing or cannot be
 * parsed/decoded becomes zeros with presence 0 and an entry in `missing` — never an exception —
 * so the patient is still assessed on the other modalities (DESIGN: "nothing is lost").
 */
export function preprocessRecord(record: PatientRecord, manifest: ModelManifest, modelDir: string, options: PreprocessOptions = {}): PreprocessedRecord {
  const convertUnit = options.convertUnit ?? createUcumConverter();
  const asOf = new Date(record.asOf);
  const consumed = new Set<ModalityName>(manifest.inputs.map((i) => ROLE_MODALITY[i.role]).filter((m): m is ModalityName => m !== undefined));
  const presence: Record<ModalityName, boolean> = { tabular: false, text: false, image: false, ecg: false };
  const missing: PreprocessedRecord['missing'] = [];
  const outputs: Partial<Record<ModalityName, ModalityOutput>> = {};
  let tabularFeatures: TabularFeature[] = [];
  const p = manifest.preprocessing;

  const run = (modality: ModalityName, build: () => PreprocessResult<ModalityOutput>) => {
    if (!consumed.has(modality)) return;
    const source = record.modalities[modality];
    if (source.status === 'missing') {
      missing.push({ modality, reason: source.reason, detail: source.detail });
      return;
    }
    let result: PreprocessResult<ModalityOutput>;
    try {
      result = options.stageClock ? options.stageClock.run(`preprocess:${modality}`, build) : build();
    } catch {
      // Belt and braces: the parsers return typed failures, but one bad modality must never
      // take the others down with it.
      result = fail('failed-to-decode', `${modality} preprocessing failed unexpectedly`);
    }
    if (result.ok) {
      // Issue #17: an input that passed its contract but whose tensor is unlike the training
      // data is treated as missing, with its score, before the abstention rules run.
      const ood = checkOutOfDistribution(manifest, modality, result.value.arrays);
      if (!ood.ok) result = ood;
    }
    if (result.ok) {
      outputs[modality] = result.value;
      presence[modality] = true;
    } else missing.push({ modality, reason: result.reason, detail: result.detail });
  };

  /**
   * Image and ECG tensors through the optional cache: only successful results are kept (a refusal
   * is recomputed, so its reason and detail are always this call's), and the out-of-distribution
   * check above still runs on every hit.
   */
  const cached = (
    modality: ModalityName,
    settings: unknown,
    content: Uint8Array | string,
    sources: VersionedReference[],
    build: () => PreprocessResult<ModalityOutput['arrays']>,
  ): PreprocessResult<ModalityOutput> => {
    const cache = options.tensorCache;
    const key = cache ? tensorCacheKey(modality, settings, content) : '';
    const hit = cache?.get(key, modality);
    if (hit) return ok({ arrays: hit, sources });
    const built = build();
    if (!built.ok) return built;
    cache?.set(key, built.value);
    return ok({ arrays: built.value, sources });
  };

  run('tabular', () => {
    const src = record.modalities.tabular;
    if (!p.tabular || src.status !== 'present') return fail('unsupported-format', 'manifest has no tabular preprocessing');
    const r = preprocessTabular(src.data, record.patient, p.tabular, asOf, { convertUnit });
    tabularFeatures = r.features;
    if (!r.features.some((f) => f.present)) return fail('none-in-window', 'no usable tabular value in the look-back window');
    const sources = dedupe(r.features.flatMap((f) => f.sources));
    return ok({ arrays: { 'tabular-values': r.values, 'tabular-mask': r.mask }, sources });
  });

  run('text', () => {
    const src = record.modalities.text;
    if (!p.text || src.status !== 'present') return fail('unsupported-format', 'manifest has no text preprocessing');
    const spec = p.text;
    const reports = selectReports(src.data, spec.categories, spec.lookbackHours, asOf);
    if (reports.length === 0) return fail('none-in-window', 'no final report of an accepted category in the look-back window');
    const texts: string[] = [];
    const sources: VersionedReference[] = [];
    let pending = 0;
    let firstFailure: { reason: MissingReason; detail: string } | undefined;
    for (const report of reports) {
      const r = extractReportText(report, options.fetchedAttachments);
      if (!r.ok) {
        firstFailure ??= { reason: r.reason, detail: r.detail };
        continue;
      }
      pending += r.value.needsFetch.length;
      if (r.value.text) {
        texts.push(r.value.text);
        sources.push(versioned('DiagnosticReport', report.id, report.meta?.versionId));
      }
    }
    if (texts.length === 0) {
      if (pending > 0) return fail('fetch-failed', `${pending} presentedForm url attachment(s) were not fetched`);
      return firstFailure ? fail(firstFailure.reason, firstFailure.detail) : fail('none-in-window', 'reports hold no text');
    }
    let vocabulary = options.vocabulary;
    if (!vocabulary) {
      const loaded = loadVocabulary(modelDir, spec);
      if (!loaded.ok) return loaded;
      vocabulary = loaded.value;
    }
    return ok({ arrays: textArrays(texts.join('\n\n'), vocabulary, spec), sources });
  });

  run('image', () => {
    const src = record.modalities.image;
    if (!p.image || src.status !== 'present') return fail('unsupported-format', 'manifest has no image preprocessing');
    const maxPixels = options.maxImagePixels ?? 50_000_000;
    const spec = p.image;
    return cached('image', { spec, maxPixels }, src.data.instance.bytes, src.sources, () => {
      const decoded = decodeDicomImage(src.data.instance.bytes, { maxPixels, ...(options.codecs ? { codecs: options.codecs } : {}), ...(options.onLibraryMessage ? { onLibraryMessage: options.onLibraryMessage } : {}) });
      if (!decoded.ok) return decoded;
      // A lateral or C-spine film fed to a PA/AP chest model is a wrong input, not a degraded one.
      const contract = checkImageContract(decoded.value, spec);
      if (!contract.ok) return contract;
      return ok({ image: toModelImage(decoded.value, spec).data });
    });
  });

  run('ecg', () => {
    const src = record.modalities.ecg;
    if (!p.ecg || src.status !== 'present') return fail('unsupported-format', 'manifest has no ECG preprocessing');
    const spec = p.ecg;
    const withImage = manifest.inputs.some((i) => i.role === 'ecg-image');
    const content = 'resourceType' in src.data ? JSON.stringify(src.data) : src.data.bytes;
    return cached('ecg', { spec, withImage }, content, src.sources, () => {
      const leads = ecgLeadsFromSource(src.data, { convertUnit, ...(options.onLibraryMessage ? { onLibraryMessage: options.onLibraryMessage } : {}) });
      if (!leads.ok) return leads;
      if (spec.inputContract) {
        const contract = checkEcgContract(leads.value, spec.inputContract);
        if (!contract.ok) return contract;
      }
      const model = toModelEcg(leads.value, spec);
      if (!model.ok) return model;
      const arrays: ModalityOutput['arrays'] = { 'ecg-waveform': model.value.data };
      if (withImage) arrays['ecg-image'] = renderEcgImage(model.value, spec.imageSize ?? [256, 512]);
      return ok(arrays);
    });
  });

  const dims = expectedDims(manifest);
  const tensors: Record<string, InputTensor> = {};
  for (const input of manifest.inputs) {
    if (input.role === 'probabilities' || input.role === 'embedding') continue;
    const shape = dims[input.role] ?? input.shape.slice(1).map((d) => Math.max(d, 1));
    const size = shape.reduce((a, b) => a * b, 1);
    let data: Float32Array | BigInt64Array;
    if (input.role === 'modality-mask') data = Float32Array.from(MODALITY_ORDER, (m) => (presence[m] ? 1 : 0));
    else {
      const modality = ROLE_MODALITY[input.role];
      const produced = modality && presence[modality] ? outputs[modality]?.arrays[input.role] : undefined;
      data = produced && produced.length === size ? produced : input.dtype === 'int64' ? new BigInt64Array(size) : new Float32Array(size);
    }
    tensors[input.name] = { dtype: input.dtype, dims: [1, ...shape], data };
  }
  const sources = dedupe(MODALITY_ORDER.flatMap((m) => (presence[m] ? outputs[m]?.sources ?? [] : [])));
  const refusedSources = dedupe(
    MODALITY_ORDER.flatMap((m) => {
      const source = record.modalities[m];
      return consumed.has(m) && !presence[m] && source.status === 'present' ? source.sources : [];
    }),
  );
  // Features of a refused (out-of-distribution) tabular modality are no evidence either.
  const notAssessed = outcomesNotAssessed(manifest, { presence, tabularFeatures: presence.tabular ? tabularFeatures : [], missing });
  // Only a model that reads labs and vitals can be said to leave some unused; for an ECG-only
  // model every lab is outside its inputs by design.
  const tabularSource = record.modalities.tabular;
  const unusedInputs = consumed.has('tabular') && p.tabular && tabularSource.status === 'present' ? unusedObservations(tabularSource.data, p.tabular) : [];
  return { tensors, presence, missing, tabularFeatures, sources, refusedSources, notAssessed, unusedInputs };
}

function versioned(resourceType: string, id: string | undefined, versionId: string | undefined): VersionedReference {
  return { resourceType, id: id ?? '', ...(versionId ? { versionId } : {}) };
}

function dedupe(refs: VersionedReference[]): VersionedReference[] {
  const seen = new Map<string, VersionedReference>();
  for (const r of refs) seen.set(`${r.resourceType}/${r.id}/${r.versionId ?? ''}`, r);
  return [...seen.values()];
}
