import type { Observation, Provenance, RiskAssessment } from '@medplum/fhirtypes';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXTENSION_URLS, PROFILE_URLS } from '../../../src/contracts/fusion-terminology.js';
import type { OutcomeMap } from '../../../src/contracts/localisation.js';
import type { ServedModel } from '../../../src/contracts/served-model.js';
import type { FetchLike } from '../../../src/contracts/fetch-like.js';
import type { InferenceEngine } from '../../../src/inference/runtime/inference-engine.js';
import { scorePatient } from '../../../src/pipeline/score-patient.js';
import { createDicomStore } from '../../../src/sandbox/dicomweb/dicom-store.js';
import { dicomwebPlugin } from '../../../src/sandbox/dicomweb/dicomweb-plugin.js';
import { loadCompleteCohort, pipelineStagesOf, useFusionFixture } from '../../helpers/fusion-fixture.js';
import { PNG } from 'pngjs';
import { renderStudyThumbnail, reviewThumbnails } from '../../../src/review/smart-app/image-thumbnail.js';
import { findingOverlayOf } from '../../../src/review/smart-app/localisation-overlay.js';
import { validatedManifest } from '../../unit/writeback/localisation-fixture.js';
import { sampleResult } from '../../unit/writeback/assessment-fixture.js';
import { localisedFindings } from '../../../src/writeback/localised-findings.js';
import { localisationGate } from '../../../src/writeback/localisation-validity.js';

/**
 * Issue #20 through the server's pipeline: an image model whose output carries localisation maps
 * (constructed here, an 8×8 map peaking on a known cell, until the model emits its own) gets a
 * FusionImagingFinding next to its RiskAssessment in the EHR and a SEG in the PACS the image came
 * from; a PACS that is down leaves the FHIR write intact, and the job's retry stores the SEG.
 * The reference model is trained on synthetic data; its called outcome is forced here so the
 * serving path, not the model, is under test.
 */
const dicom = Fastify({ logger: false });
const store = createDicomStore();
let dicomwebBaseUrl = '';

beforeAll(async () => {
  await dicom.register(dicomwebPlugin, { prefix: '/dicomweb', store });
  dicomwebBaseUrl = `${await dicom.listen({ port: 0, host: '127.0.0.1' })}/dicomweb`;
}, 60_000);
afterAll(async () => {
  await dicom.close();
});

const fixture = useFusionFixture({
  subscribe: false,
  config: () => ({ DICOMWEB_BASE_URL: dicomwebBaseUrl, ACTIVE_MODELS: 'image-cnn@1' }),
});

/**
 * The served models, image-cnn@1's manifest given localisation figures that pass the validity gate
 * (its own fail it: the shipped system shows no map, tested below).
 */
function validatedModels(models: ServedModel[]): ServedModel[] {
  return models.map((m) =>
    m.manifest.name === 'image-cnn' ? { ...m, manifest: validatedManifest(m.manifest) } : m,
  );
}

/** The engine, with heart failure called and an 8×8 map per outcome (the outcome-map serving path, as a BYO model without a finding localiser has). */
function forcedEngine(engine: InferenceEngine): InferenceEngine {
  return new Proxy(engine, {
    get(target, property) {
      if (property === 'infer') {
        return async (...args: Parameters<InferenceEngine['infer']>) => {
          // Without the shipped model's finding maps, which would take precedence over outcome maps.
          const { findingMaps: _findingMaps, ...output } = await target.infer(...args);
          return {
            ...output,
            // Heart failure called, pneumonia not: exactly one finding (cardiomegaly) to localise.
            predictions: output.predictions.map((p) => ({
              ...p,
              qualitativeRisk: p.outcomeIndex === 0 ? ('high' as const) : ('low' as const),
            })),
            localisationMaps: [peak(0, 2, 3), peak(1, 5, 5)],
          };
        };
      }
      const value = Reflect.get(target, property) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

function peak(outcomeIndex: number, x: number, y: number): OutcomeMap {
  const values = new Float32Array(64);
  values[y * 8 + x] = 5;
  return { outcomeIndex, width: 8, height: 8, values };
}

describe('localisation through the pipeline (issue #20)', () => {
  it('writes the finding with the assessment, and stores the SEG once the PACS is back', async () => {
    const { runtime, fhirBaseUrl, client, pool } = fixture();
    const serving = runtime.serving;
    if (!serving) throw new Error('the fixture loaded no models');
    const now = new Date();
    const cohort = await loadCompleteCohort({
      fhirBaseUrl,
      dicomwebBaseUrl,
      patients: 1,
      seed: 2_020,
      imageSize: 96,
      now,
    });
    const engine = forcedEngine(serving.engine);
    const models = validatedModels(serving.models);
    // The PACS refuses the first STOW (503), then accepts.
    let stowCalls = 0;
    const dicomFetch: FetchLike = async (input, init) => {
      if (init?.method === 'POST' && String(input).endsWith('/studies') && stowCalls++ === 0)
        return new Response('down', { status: 503 });
      return runtime.outbound.dicomFetch(input, init);
    };
    const stages = pipelineStagesOf(runtime, {
      engine,
      outbound: { ...runtime.outbound, dicomFetch },
      models: () => models,
    });
    const patientId = cohort[0]!.patientId;
    const record = await stages.assemble(patientId, now);
    if (!record) throw new Error('patient not found in the sandbox');
    expect(record.modalities.image.status).toBe('present');
    const deps = { ...stages, db: pool, models, traceId: 'localisation-1' };

    await expect(scorePatient(record, deps)).rejects.toThrow(/STOW-RS failed \(http-503\)/);
    // The FHIR write stands and is in the ledger; no SEG yet.
    const [ra] = (await client.searchResources('RiskAssessment', {
      subject: `Patient/${patientId}`,
    })) as RiskAssessment[];
    expect(ra).toBeDefined();
    const ledger = await pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM assessment_ledger WHERE patient_id = $1',
      [patientId],
    );
    expect(ledger.rows[0]?.n).toBe(1);
    // The cohort writes imaging Observations of its own; the model's carry the profile.
    const aiFindings = async () =>
      (
        (await client.searchResources('Observation', {
          subject: `Patient/${patientId}`,
          category: 'imaging',
        })) as Observation[]
      ).filter((o) => o.meta?.profile?.includes(PROFILE_URLS.ImagingFinding));
    const findings = await aiFindings();
    expect(findings).toHaveLength(1);
    const finding = findings[0]!;
    expect(finding.code?.coding?.[0]?.code).toBe('8186001');
    expect(finding.meta?.security?.map((s) => s.code)).toContain('AIAST');
    expect(ra!.basis?.map((b) => b.reference)).toContain(`Observation/${finding.id}`);
    const [provenance] = (await client.searchResources('Provenance', {
      target: `RiskAssessment/${ra!.id}`,
    })) as Provenance[];
    expect(provenance?.target.map((t) => t.reference)).toContain(`Observation/${finding.id}`);
    const segUid = finding.identifier
      ?.find((i) => i.system === 'urn:dicom:uid')
      ?.value?.replace('urn:oid:', '');
    expect(segUid).toMatch(/^2\.25\./);

    // The job's retry: the FHIR write finds its resources, the same SEG is stored this time.
    await scorePatient(record, deps);
    expect((await client.searchResources('RiskAssessment', { subject: `Patient/${patientId}` })).length).toBe(
      1,
    );
    expect(await aiFindings()).toHaveLength(1);
    expect(stowCalls).toBe(2);
    const image =
      record.modalities.image.status === 'present' ? record.modalities.image.data.instance : undefined;
    const series = await fetch(`${dicomwebBaseUrl}/studies/${image!.studyInstanceUid}/series?Modality=SEG`, {
      headers: { accept: 'application/dicom+json' },
    });
    const seg = (await series.json()) as Array<Record<string, { Value?: unknown[] }>>;
    expect(seg).toHaveLength(1);
    const seriesUid = String(seg[0]!['0020000E']?.Value?.[0]);
    const [metadata] = (await (
      await fetch(
        `${dicomwebBaseUrl}/studies/${image!.studyInstanceUid}/series/${seriesUid}/instances/${segUid}/metadata`,
        { headers: { accept: 'application/dicom+json' } },
      )
    ).json()) as Array<Record<string, { Value?: Array<Record<string, { Value?: unknown[] }>> }>>;
    const referenced = metadata!['00081115']?.Value?.[0];
    expect(referenced?.['0020000E']?.Value?.[0]).toBe(image!.seriesInstanceUid);

    // The review app's overlay finds the SEG in the same PACS (QIDO by SOP Instance UID, WADO) and
    // tints the region on the thumbnail; without the overlay the thumbnail stays greyscale.
    const study =
      record.modalities.image.status === 'present' ? record.modalities.image.data.study : undefined;
    const thumbnails = reviewThumbnails(runtime.config, runtime.outbound);
    const overlaid = PNG.sync.read(
      await renderStudyThumbnail(study!, [], thumbnails, findingOverlayOf(finding)),
    );
    let tinted = 0;
    for (let i = 0; i < overlaid.data.length; i += 4)
      if (overlaid.data[i]! > overlaid.data[i + 2]! + 20) tinted++;
    expect(tinted).toBeGreaterThan(0);
    expect(tinted).toBeLessThan((overlaid.width * overlaid.height) / 2);
  }, 300_000);

  it('the shipped image-cnn@1 finding localiser: a film with cardiomegaly gets its SEG and finding, placed on the heart; the outcome maps are not used', async () => {
    const { runtime, fhirBaseUrl, client, pool } = fixture();
    const serving = runtime.serving;
    if (!serving) throw new Error('the fixture loaded no models');
    const now = new Date();
    // The size the reference image model was trained on (REFERENCE_RADIOGRAPH_SIZE).
    const cohort = await loadCompleteCohort({
      fhirBaseUrl,
      dicomwebBaseUrl,
      patients: 8,
      seed: 2_021,
      imageSize: 128,
      now,
    });
    const patient = cohort.find((p) => p.radiographLesions?.masks.cardiomegaly.some((v) => v > 0));
    if (!patient) throw new Error('seed 2021 has no cardiomegaly film among 8 patients');
    let stowCalls = 0;
    const dicomFetch: FetchLike = async (input, init) => {
      if (init?.method === 'POST' && String(input).endsWith('/studies')) stowCalls++;
      return runtime.outbound.dicomFetch(input, init);
    };
    const stages = pipelineStagesOf(runtime, { outbound: { ...runtime.outbound, dicomFetch } });
    const record = await stages.assemble(patient.patientId, now);
    if (!record) throw new Error('patient not found in the sandbox');
    const model = serving.models.find((m) => m.manifest.name === 'image-cnn')!;
    const predicted = await stages.predict(record, model);
    const findingMaps = predicted.localisation?.findingMaps ?? [];
    expect(findingMaps.find((m) => m.findingIndex === 0)?.probability).toBeGreaterThan(0.5);
    // Where the written region is, against where the generator drew the heart (same field of view).
    const decision = localisedFindings(
      { ...sampleResult(patient.patientId), localisation: predicted.localisation! },
      model.manifest,
      localisationGate(runtime.config),
    );
    const heart = decision.localised?.findings.find((f) => f.finding.code === '8186001');
    expect(heart?.outcome).toBeUndefined();
    const { geometry } = decision.localised!;
    const truth = patient.radiographLesions!;
    let inside = 0;
    for (let i = 0; i < heart!.mask.length; i++) {
      if (!heart!.mask[i]) continue;
      const x = Math.floor(((i % geometry.sourceWidth) * truth.size) / geometry.sourceWidth);
      const y = Math.floor((Math.floor(i / geometry.sourceWidth) * truth.size) / geometry.sourceHeight);
      inside += truth.masks.cardiomegaly[y * truth.size + x]!;
    }
    expect(inside / heart!.marked).toBeGreaterThan(0.5);

    await scorePatient(record, { ...stages, db: pool, models: serving.models, traceId: 'localisation-2' });
    const [ra] = (await client.searchResources('RiskAssessment', {
      subject: `Patient/${patient.patientId}`,
    })) as RiskAssessment[];
    const findings = (
      (await client.searchResources('Observation', {
        subject: `Patient/${patient.patientId}`,
        category: 'imaging',
      })) as Observation[]
    ).filter((o) => o.meta?.profile?.includes(PROFILE_URLS.ImagingFinding));
    expect(findings.map((f) => f.code?.coding?.[0]?.code)).toContain('8186001');
    for (const f of findings) expect(ra!.basis?.map((b) => b.reference)).toContain(`Observation/${f.id}`);
    expect(stowCalls).toBe(1);
    // The outcome maps (which fail their evaluation) are not what was used: no not-validated note.
    expect(ra?.extension?.find((e) => e.url === EXTENSION_URLS.localisationNotShown)).toBeUndefined();
  }, 300_000);
});
