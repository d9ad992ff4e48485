import type { MedplumClient } from '@medplum/core';
import type { Logger } from 'pino';
import { assemblePatient } from '../assembly/assemble-patient.js';
import type { AssemblyWindows } from '../assembly/fetch-patient-resources.js';
import { EhrFetchError } from '../assembly/fetch-patient-resources.js';
import type { VersionedReference } from '../contracts/patient-record.js';
import type { Config } from '../config/config-schema.js';
import type { EhrFetch } from '../fhir/ehr-fetch.js';
import type { InferenceEngine } from '../inference/runtime/inference-engine.js';
import type { ModelManifest } from '../contracts/manifest-types.js';
import { PermanentJobError } from '../jobs/job-errors.js';
import type { Metrics } from '../observability/create-metrics.js';
import { loadCompressedFrameDecoder } from '../preprocess/imaging/compressed-frame-decoder.js';
import type { PreprocessOptions } from '../preprocess/preprocess-record.js';
import { loadVocabulary, preprocessRecord } from '../preprocess/preprocess-record.js';
import { createUcumConverter } from '../preprocess/tabular/unit-conversion.js';
import { createTensorCache } from '../preprocess/tensor-cache.js';
import { summariseInputs } from '../preprocess/ood/input-summary.js';
import { localiseOnSource } from '../preprocess/imaging/localisation-source.js';
import { localisedFindings, withLocalisationDecision } from '../writeback/localised-findings.js';
import { localisationGate } from '../writeback/localisation-validity.js';
import { buildSegmentation } from '../writeback/build-segmentation.js';
import { stowInstance } from '../intake/dimse/stow-instance.js';
import { assessmentIdentity } from '../contracts/assessment-identity.js';
import { locateAssessment } from '../writeback/locate-assessment.js';
import { buildAssessmentBundle } from '../writeback/build-assessment-bundle.js';
import { findPreviousAssessment } from '../writeback/find-previous-assessment.js';
import type { ProfileValidator } from '../writeback/validate-profiles.js';
import type { ThreadedProfileValidator } from '../writeback/threaded-validator.js';
import { WritebackInvalid, WritebackRejected, writeAssessment } from '../writeback/write-assessment.js';
import { writeDraftReport } from '../writeback/write-draft-report.js';
import { buildDraftBundle } from '../writeback/build-draft-entries.js';
import { abstainedOutput, withoutAbstainedOutcomes } from './apply-abstention.js';
import type { AssessPatientDeps } from './stage-types.js';
import type { ServedModel } from '../contracts/served-model.js';
import { draftDescription, type ServedDrafter } from './draft-description.js';
import type { WrittenAssessment } from './stage-types.js';

/** Version written into Provenance as the software that made the assessment. */
export const SOFTWARE_VERSION = 'fhir-fusion 0.1.0';

/** Identifier system of fhir-fusion's assessment identities (RiskAssessment.identifier). */
export const IDENTIFIER_SYSTEM = 'https://fhir-fusion.dev/fhir/assessment-identity';

/** The widest look-back window any served model asks for, per modality. */
export function assemblyWindows(manifests: ModelManifest[]): AssemblyWindows {
  const widest = (pick: (m: ModelManifest) => number | undefined): number =>
    Math.max(0, ...manifests.map((m) => pick(m) ?? 0));
  return {
    tabular: widest((m) => m.preprocessing.tabular?.lookbackHours),
    text: widest((m) => m.preprocessing.text?.lookbackHours),
    image: widest((m) => m.preprocessing.image?.lookbackHours),
    ecg: widest((m) => m.preprocessing.ecg?.lookbackHours),
  };
}

/** The image modalities any served model accepts. */
function imageModalities(manifests: ModelManifest[]): string[] {
  return [...new Set(manifests.flatMap((m) => m.preprocessing.image?.modalities ?? []))];
}

/** Distinct references, first occurrence kept (RiskAssessment.basis lists each version once). */
export function distinctReferences(refs: VersionedReference[]): VersionedReference[] {
  const seen = new Set<string>();
  return refs.filter((r) => {
    const key = `${r.resourceType}/${r.id}/${r.versionId ?? ''}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * Binds assembly, preprocessing + inference, and write-back to the configured EHR, models and
 * engine, in the shape the per-patient job takes.
 */
export function createPipelineStages(options: {
  config: Config;
  ehr: MedplumClient;
  writebackEhr: MedplumClient;
  engine: InferenceEngine;
  outbound: EhrFetch;
  metrics: Metrics;
  models: () => ServedModel[];
  /**
   * The process's profile validator (on this thread, or its worker thread): every resource is
   * validated before it is sent.
   */
  validator: ProfileValidator | ThreadedProfileValidator;
  /** Receives decoder chatter at debug level (dcmjs would otherwise print it to stderr). */
  logger?: Pick<Logger, 'debug'>;
  /** The drafting model (issue #20, `DESCRIPTION_MODEL`); absent: no description is drafted. */
  drafter?: ServedDrafter;
}): Pick<AssessPatientDeps, 'assemble' | 'predict' | 'write' | 'locate' | 'draft'> {
  const { config } = options;
  const clock = options.metrics.stageClock;
  // Validation is charged to its own stage, apart from building and POSTing the Bundle (a worker
  // thread's CPU is added by whoever started it).
  const given = options.validator;
  const validator: ProfileValidator | ThreadedProfileValidator = !clock.enabled
    ? given
    : 'validateAll' in given
      ? { validateAll: (resources) => clock.run('validation', () => given.validateAll(resources)), close: () => given.close() }
      : {
          structureDefinitions: given.structureDefinitions,
          validate: (resource) => clock.run('validation', () => given.validate(resource)),
        };
  // Loaded once per process / model, not per patient: UCUM tables, WASM codecs, vocabularies.
  const convertUnit = createUcumConverter();
  let codecs: Promise<PreprocessOptions['codecs']> | undefined;
  // No message text: dcmjs messages can quote tag values (patient data).
  const onLibraryMessage: NonNullable<PreprocessOptions['onLibraryMessage']> = (m) => {
    options.metrics.libraryMessages.inc({ library: m.library, level: m.level });
    options.logger?.debug({ library: m.library, libraryLogger: m.logger, level: m.level }, 'decoder library message suppressed');
  };
  const vocabularies = new Map<string, PreprocessOptions['vocabulary']>();
  // One per pipeline: the same image or ECG seen again (another model, a re-run) is not decoded again.
  const tensorCache =
    config.TENSOR_CACHE_MAX_BYTES > 0 && config.TENSOR_CACHE_MAX_ENTRIES > 0
      ? createTensorCache({
          maxBytes: config.TENSOR_CACHE_MAX_BYTES,
          maxEntries: config.TENSOR_CACHE_MAX_ENTRIES,
          onLookup: (modality, hit) => options.metrics.tensorCacheLookups.inc({ modality, result: hit ? 'hit' : 'miss' }),
        })
      : undefined;
  const preprocessOptions = async (model: ServedModel): Promise<PreprocessOptions> => {
    codecs ??= loadCompressedFrameDecoder().catch(() => undefined);
    const key = `${model.manifest.name}@${model.manifest.version}`;
    const text = model.manifest.preprocessing.text;
    if (text && !vocabularies.has(key)) {
      const loaded = loadVocabulary(model.dir, text);
      vocabularies.set(key, loaded.ok ? loaded.value : undefined);
    }
    return {
      convertUnit,
      codecs: await codecs,
      vocabulary: vocabularies.get(key),
      onLibraryMessage,
      stageClock: clock,
      ...(tensorCache ? { tensorCache } : {}),
    };
  };
  /**
   * The localisation SEG to the PACS the image came from (STOW-RS, PS3.18 §10.5). Same bytes and
   * UIDs on every try (from the assessment identity), so a retry after a lost answer stores the
   * same instance again rather than a second one. Throws on refusal or outage (the job retries);
   * the message names the failure, never a UID.
   */
  const storeSegmentation = async (
    result: Parameters<typeof localisedFindings>[0],
    model: ServedModel,
    localised: NonNullable<ReturnType<typeof localisedFindings>['localised']>,
  ): Promise<void> => {
    const baseUrl = localised.source.dicomwebBaseUrl ?? config.DICOMWEB_BASE_URL;
    if (!baseUrl) throw new Error('localisation SEG: no DICOMweb base to store it to');
    const { bytes, uids } = buildSegmentation({
      localised,
      identity: assessmentIdentity(result),
      algorithm: { name: model.manifest.name, version: model.manifest.version, title: model.manifest.title },
      softwareVersion: SOFTWARE_VERSION,
      contentDateTime: result.occurredAt,
    });
    const stored = await stowInstance(bytes, uids.sopInstanceUid, { baseUrl, fetch: options.outbound.dicomFetch });
    if (!stored.ok) throw new Error(`localisation SEG: STOW-RS failed (${stored.reason}); will retry`);
  };
  const drafter = options.drafter;
  return {
    ...(drafter
      ? {
          async draft(record, traceId) {
            codecs ??= loadCompressedFrameDecoder().catch(() => undefined);
            const loaded = await codecs;
            return draftDescription(record, drafter, {
              ...(loaded ? { codecs: loaded } : {}),
              onLibraryMessage,
              traceId,
            });
          },
        }
      : {}),
    async assemble(patientId, asOf) {
      const manifests = options.models().map((m) => m.manifest);
      const windows = assemblyWindows(manifests);
      // The drafting model (issue #20) needs the chest radiograph even when no risk model reads one.
      const imageTypes = [...new Set([...imageModalities(manifests), ...(drafter?.image.modalities ?? [])])];
      if (drafter) windows.image = Math.max(windows.image, drafter.image.lookbackHours);
      try {
        return await assemblePatient(patientId, {
          client: options.ehr,
          windows,
          image: { modalities: imageTypes },
          dicom: {
            fetch: options.outbound.dicomFetch,
            allowList: options.outbound.allowList,
            defaultBaseUrl: config.DICOMWEB_BASE_URL,
            maxBytes: 64 * 1024 * 1024,
          },
          asOf,
        });
      } catch (err) {
        if (err instanceof EhrFetchError && err.status === 404) return undefined;
        throw err;
      }
    },
    async predict(record, model) {
      const pre = preprocessRecord(record, model.manifest, model.dir, await preprocessOptions(model));
      for (const m of pre.missing) if (m.reason !== 'none-in-window') options.metrics.inputRefusals.inc({ modality: m.modality, reason: m.reason });
      const everyOutcome = pre.notAssessed.length >= model.manifest.outcomes.length;
      // Issue #17: when every outcome abstains the model is not run — a probability computed from
      // almost nothing would be discarded anyway, and nothing that is not written can leak.
      const output = everyOutcome
        ? abstainedOutput()
        : withoutAbstainedOutcomes(
            await clock.run('inference', () =>
              options.engine.infer(model.manifest.name, model.manifest.version, pre.tensors, {
                tabularFeatures: pre.tabularFeatures.map((f) => ({ name: f.name, value: f.value ?? null })),
                presence: pre.presence,
              }),
            ),
            pre.notAssessed,
          );
      for (const n of pre.notAssessed) options.metrics.outcomesNotAssessed.inc({ reason: n.reason });
      // The basis is what the assessment rests on; an assessment that abstains on everything rests
      // on what it considered and declined (so a new version of that input is a new assessment).
      const basis = pre.sources.length > 0 || !everyOutcome ? pre.sources : pre.refusedSources;
      // Issue #20: maps the model produced are placed on the image it read (or refused, named).
      const image = record.modalities.image;
      const maps = output.localisationMaps ?? [];
      const findingMaps = output.findingMaps ?? [];
      const localisation =
        (maps.length || findingMaps.length) && pre.presence.image && image.status === 'present' && model.manifest.preprocessing.image
          ? localiseOnSource(
              { maps, findingMaps },
              image.data.instance,
              { resourceType: 'ImagingStudy', id: image.data.study.id ?? '', ...(image.data.study.meta?.versionId ? { versionId: image.data.study.meta.versionId } : {}) },
              model.manifest.preprocessing.image,
              { onLibraryMessage },
            )
          : undefined;
      return {
        ...(localisation ? { localisation } : {}),
        output,
        basis: distinctReferences(basis),
        missing: pre.missing.map((m) => ({ status: 'missing' as const, ...m })),
        notAssessed: pre.notAssessed,
        unusedInputs: pre.unusedInputs,
        inputSummary: summariseInputs(model.manifest, pre),
      };
    },
    locate: (identity) => locateAssessment(options.writebackEhr, IDENTIFIER_SYSTEM, identity),
    async write(result, model, extras) {
      const previous = await findPreviousAssessment(options.writebackEhr, result.patientId, model.manifest.name);
      // Issue #20: a map is shown only where the manifest's held-out evaluation validates it.
      const decision = localisedFindings(result, model.manifest, localisationGate(config));
      const localised = decision.localised;
      let written: WrittenAssessment;
      try {
        const bundle = buildAssessmentBundle({
          result: withLocalisationDecision(result, decision),
          manifest: model.manifest,
          cardMarkdown: model.cardMarkdown,
          previous,
          softwareVersion: SOFTWARE_VERSION,
          identifierSystem: IDENTIFIER_SYSTEM,
          ...(localised ? { localised } : {}),
        });
        const sent = await writeAssessment(options.writebackEhr, bundle, {
          validator,
          timeoutMs: config.OUTBOUND_TIMEOUT_MS,
        });
        written = {
          identity: assessmentIdentity(result),
          outcome: sent.outcome,
          riskAssessmentRef: sent.riskAssessment.reference ?? '',
          provenanceRef: sent.provenance.reference ?? '',
          ...(localised ? { storeDerived: () => storeSegmentation(result, model, localised) } : {}),
        };
      } catch (err: unknown) {
        if (err instanceof WritebackRejected || err instanceof WritebackInvalid) {
          throw new PermanentJobError(err.message, err.outcome);
        }
        throw err;
      }
      const draft = extras?.draft;
      if (!draft || !drafter) return written;
      // The draft goes in its own transaction, after the assessment (see buildDraftBundle). A draft
      // the EHR refuses (e.g. no scope to create a DiagnosticReport) must not cost the patient their
      // assessment, which is already written: the refusal is reported (issue codes and element
      // paths only, never content). An EHR outage throws, so the job retries; the assessment's and
      // the draft's conditional creates then find what was already written.
      try {
        const report = await writeDraftReport(
          options.writebackEhr,
          buildDraftBundle({
            draft,
            model: drafter.description,
            issued: new Date().toISOString(),
            softwareVersion: SOFTWARE_VERSION,
            identifierSystem: IDENTIFIER_SYSTEM,
          }),
          { validator, timeoutMs: config.OUTBOUND_TIMEOUT_MS },
        );
        return { ...written, draftReport: { outcome: report.outcome, reference: report.reference.reference ?? '' } };
      } catch (err: unknown) {
        if (err instanceof WritebackRejected || err instanceof WritebackInvalid) return { ...written, draftRefused: err.message };
        throw err;
      }
    },
  };
}
