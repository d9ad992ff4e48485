import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseNpy } from '../../../src/inference/manifest/npy-format.js';
import { runMigrations } from '../../../src/store/migrate.js';
import { createCaseIndex } from '../../../src/similar-cases/case-index.js';
import type { FetchLike } from '../../../src/similar-cases/ehr-reader.js';
import { loadEmbeddingModel, type EmbeddingModel } from '../../../src/similar-cases/embedding-model.js';
import { parseEmbeddingManifest } from '../../../src/inference/manifest/embedding-manifest.js';
import { indexCase } from '../../../src/similar-cases/index-case.js';
import type { CallerTokenVerifier } from '../../../src/security/caller-token.js';
import { similarCasesRoutes } from '../../../src/similar-cases/similar-cases-routes.js';
import { describeEmbeddingModel, SIMILAR_CASES_BUNDLE_PROFILE } from '../../../src/similar-cases/ai-transparency-label.js';
import { ensureR4DefinitionsIndexed } from '../../../src/writeback/index-r4-definitions.js';
import { createProfileValidator } from '../../../src/writeback/validate-profiles.js';
import type { Bundle, BundleEntry, Device } from '@medplum/fhirtypes';
import { createTestDatabase, type TestDatabase } from '../../helpers/test-database.js';

const MODEL_DIR = resolve('models/ecg-report-clip/1');
const EHR = 'http://ehr.test/fhir';
const AF = '12-LEAD ECG INTERPRETATION\nAtrial fibrillation with rapid ventricular response, ventricular rate 132 bpm.\nIrregularly irregular rhythm; no discernible P waves.\nSUMMARY: Abnormal ECG: atrial fibrillation.\n';
const NSR = '12-LEAD ECG INTERPRETATION\nNormal sinus rhythm, rate 72 bpm.\nNormal QRS voltage.\nNo acute ST-T changes.\nSUMMARY: Normal ECG.\n';

function cosine(a: Float32Array, b: Float32Array): number {
  return a.reduce((s, x, i) => s + x * b[i]!, 0);
}

describe('ECG ↔ report embedding model', () => {
  let model: EmbeddingModel;
  beforeAll(async () => {
    model = await loadEmbeddingModel(MODEL_DIR);
  });
  afterAll(async () => model.close());

  it('loads with verified hashes and golden tensors and yields unit vectors', async () => {
    expect(model.key).toBe('ecg-report-clip@1');
    const golden = parseNpy(readFileSync(resolve(MODEL_DIR, 'golden-input-ecg_waveform.npy')));
    const n = golden.shape[1]! * golden.shape[2]!;
    const ecgs = [0, 1].map((i) => (golden.data as Float32Array).slice(i * n, (i + 1) * n));
    for (const v of [...(await model.embedEcg(ecgs)), ...(await model.embedText([AF, NSR]))]) {
      expect(v).toHaveLength(model.dimension);
      expect(Math.hypot(...v)).toBeCloseTo(1, 4);
    }
  });

  it('places an AF query nearer an AF report than a normal one', async () => {
    const [query, af, nsr] = await model.embedText(['atrial fibrillation with rapid ventricular response', AF, NSR]);
    expect(cosine(query!, af!)).toBeGreaterThan(cosine(query!, nsr!));
  });

  it('rejects a manifest whose encoder output width is not the embedding dimension', () => {
    const json = JSON.parse(readFileSync(resolve(MODEL_DIR, 'embedding-manifest.json'), 'utf8'));
    json.encoders.text.outputs[0].shape = [-1, 32];
    const parsed = parseEmbeddingManifest(json);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.problems.join()).toContain('/encoders/text/outputs/0/shape');
  });
});

describe('$similar-cases and $similar-ecgs', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let model: EmbeddingModel;
  let app: FastifyInstance;
  const seenTokens: string[] = [];

  // A fake EHR: token "clinician" may read everything but p2's report; "other" may read nothing.
  const fetch: FetchLike = async (url, init) => {
    const token = init?.headers?.authorization?.replace('Bearer ', '') ?? '';
    seenTokens.push(token);
    const path = url.slice(EHR.length + 1);
    if (token !== 'clinician' && token !== 'patient-p0') return new Response('{}', { status: 403 });
    if (path === 'DiagnosticReport/p2-ecg-report') return new Response('{}', { status: 403 });
    const [type, id] = path.split('/');
    if (type === 'Patient' && id!.startsWith('p')) return Response.json({ resourceType: 'Patient', id });
    if (type === 'DiagnosticReport')
      return Response.json({ resourceType: 'DiagnosticReport', id, status: 'final', code: { text: 'ECG interpretation' }, conclusion: `report ${id}` });
    return new Response('{}', { status: 404 });
  };

  // What the EHR's introspection endpoint would answer (RFC 7662): any other string is inactive.
  const introspected: string[] = [];
  const verifyToken: CallerTokenVerifier = async (token) => {
    introspected.push(token);
    if (token === 'clinician') return { active: true, scopes: ['openid', 'user/*.rs'] };
    if (token === 'other') return { active: true, scopes: ['patient/*.rs'], patient: 'p5' };
    if (token === 'patient-p0') return { active: true, scopes: ['patient/Patient.r', 'patient/DiagnosticReport.rs'], patient: 'p0' };
    if (token === 'no-reports') return { active: true, scopes: ['user/Observation.rs', 'user/Patient.r'] };
    return { active: false };
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    pool = new pg.Pool({ connectionString: db.url, max: 2 });
    await runMigrations(pool, resolve('migrations'), pino({ level: 'silent' }));
    model = await loadEmbeddingModel(MODEL_DIR);
    const index = createCaseIndex({ pool, model: model.key, dimensions: model.dimension });
    const golden = parseNpy(readFileSync(resolve(MODEL_DIR, 'golden-input-ecg_waveform.npy')));
    const n = golden.shape[1]! * golden.shape[2]!;
    for (let i = 0; i < 4; i++) {
      await indexCase(model, index, {
        patientRef: `Patient/p${i}`,
        ecgRef: `Observation/p${i}-ecg`,
        ecgInput: (golden.data as Float32Array).slice(i * n, (i + 1) * n),
        report: { ref: `DiagnosticReport/p${i}-ecg-report`, text: i % 2 ? AF : NSR },
      });
    }
    app = Fastify();
    const modelResources = describeEmbeddingModel(model.manifest, readFileSync(resolve(MODEL_DIR, 'card.md'), 'utf8'), '2026-12-04T00:00:00Z');
    await app.register(similarCasesRoutes, { index, model, modelResources, fhirBaseUrl: EHR, fetch, verifyToken });
  });
  afterAll(async () => {
    await app.close();
    await model.close();
    await pool.end();
    await db.drop();
  });

  it('returns neighbours the caller may read, never the patient, scored, with the caller’s token', async () => {
    const res = await app.inject({ url: '/fhir-fusion/Patient/p0/$similar-cases?_count=5', headers: { authorization: 'Bearer clinician' } });
    expect(res.statusCode).toBe(200);
    const bundle = res.json();
    expect(bundle).toMatchObject({ resourceType: 'Bundle', type: 'searchset' });
    const matches = bundle.entry.filter((e: BundleEntry) => e.search?.mode === 'match');
    const ids = matches.map((e: { resource: { id: string } }) => e.resource.id);
    expect(ids.sort()).toEqual(['p1-ecg-report', 'p3-ecg-report']);
    expect(bundle.total).toBe(2);
    for (const e of matches) expect(e.search.score).toBeLessThanOrEqual(1);
    expect(seenTokens.every((t) => t === 'clinician')).toBe(true);
  });

  it('labels the answer as AI output (AI Transparency IG): AIAST, inline labels on each match, the model Device and card included', async () => {
    const typeIndex = ensureR4DefinitionsIndexed();
    const validator = createProfileValidator(typeIndex, { rememberValid: 0 });
    for (const url of ['/fhir-fusion/Patient/p0/$similar-cases?_count=5', '/fhir-fusion/$similar-ecgs?text=atrial%20fibrillation&_count=2']) {
      const bundle = (await app.inject({ url, headers: { authorization: 'Bearer clinician' } })).json() as Bundle;
      expect(bundle.meta?.profile).toEqual([SIMILAR_CASES_BUNDLE_PROFILE]);
      expect(bundle.meta?.security?.map((c) => c.code)).toEqual(['AIAST', 'PROCESSINLINELABEL']);
      const matches = bundle.entry!.filter((e) => e.search?.mode === 'match');
      expect(matches.length).toBeGreaterThan(0);
      for (const m of matches) {
        expect(m.search?.extension).toEqual([expect.objectContaining({ valueCoding: expect.objectContaining({ code: 'AIAST' }) })]);
        // The reports are the EHR's, written by people: not labelled AI asserted.
        expect(m.resource?.meta?.security).toBeUndefined();
      }
      const included = bundle.entry!.filter((e) => e.search?.mode === 'include');
      const device = included.find((e) => e.resource?.resourceType === 'Device');
      const card = included.find((e) => e.resource?.resourceType === 'DocumentReference');
      expect((device?.resource as Device).deviceName?.[0]?.name).toBe('ecg-report-clip');
      const cardRef = (device?.resource as Device).extension?.find((e) => e.url.endsWith('aitransparency.modelCardDescription'));
      expect(cardRef?.valueReference?.reference).toBe(card?.fullUrl);
      // The answer against base R4 and FusionSimilarCasesBundle; its Device and card against their profiles.
      expect(validator.validate(bundle)).toBeUndefined();
      expect(validator.validate(device!.resource!)).toBeUndefined();
      expect(validator.validate(card!.resource!)).toBeUndefined();
    }
  });

  it('the answer profile fails an unlabelled match and a missing model Device', async () => {
    const validator = createProfileValidator(ensureR4DefinitionsIndexed(), { rememberValid: 0 });
    const bundle = (await app.inject({ url: '/fhir-fusion/Patient/p0/$similar-cases', headers: { authorization: 'Bearer clinician' } })).json() as Bundle;
    const unlabelled = structuredClone(bundle);
    delete unlabelled.entry![0]!.search!.extension;
    expect(JSON.stringify(validator.validate(unlabelled))).toContain('ffsc-2');
    const anonymous = structuredClone(bundle);
    anonymous.entry = anonymous.entry!.filter((e) => e.resource?.resourceType !== 'Device');
    expect(JSON.stringify(validator.validate(anonymous))).toContain('ffsc-3');
  });

  it('answers OperationOutcomes for a missing token, a forbidden patient, an unindexed patient and a bad _count', async () => {
    const noToken = await app.inject({ url: '/fhir-fusion/Patient/p0/$similar-cases' });
    expect(noToken.statusCode).toBe(401);
    expect(noToken.json().issue[0].expression).toEqual(['Authorization']);
    const forbidden = await app.inject({ url: '/fhir-fusion/Patient/p0/$similar-cases', headers: { authorization: 'Bearer other' } });
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.json().issue[0]).toMatchObject({ code: 'forbidden', expression: ['Patient.id'] });
    const unindexed = await app.inject({ url: '/fhir-fusion/Patient/p9/$similar-cases', headers: { authorization: 'Bearer clinician' } });
    expect(unindexed.statusCode).toBe(404);
    const badCount = await app.inject({ url: '/fhir-fusion/Patient/p0/$similar-cases?_count=0', headers: { authorization: 'Bearer clinician' } });
    expect(badCount.statusCode).toBe(400);
    expect(badCount.json().issue[0].expression).toEqual(['_count']);
  });

  it('finds ECGs from text', async () => {
    const res = await app.inject({ url: '/fhir-fusion/$similar-ecgs?text=atrial%20fibrillation&_count=2', headers: { authorization: 'Bearer clinician' } });
    expect(res.statusCode).toBe(200);
    expect(res.json().entry.length).toBeGreaterThan(0);
    const missing = await app.inject({ url: '/fhir-fusion/$similar-ecgs', headers: { authorization: 'Bearer clinician' } });
    expect(missing.statusCode).toBe(400);
    expect(missing.json().issue[0].expression).toEqual(['text']);
  });

  it('authenticates the caller itself: a random bearer is 401 without any EHR read, another patient is 403, the own patient 200', async () => {
    const before = seenTokens.length;
    const random = await app.inject({ url: '/fhir-fusion/Patient/p0/$similar-cases', headers: { authorization: 'Bearer 8f14e45fceea167a5a36dedd4bea2543' } });
    expect(random.statusCode).toBe(401);
    expect(random.json()).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'login', expression: ['Authorization'] }] });
    const randomEcgs = await app.inject({ url: '/fhir-fusion/$similar-ecgs?text=af', headers: { authorization: 'Bearer not-a-token' } });
    expect(randomEcgs.statusCode).toBe(401);
    const otherPatient = await app.inject({ url: '/fhir-fusion/Patient/p0/$similar-cases', headers: { authorization: 'Bearer other' } });
    expect(otherPatient.statusCode).toBe(403);
    expect(otherPatient.json().issue[0]).toMatchObject({ code: 'forbidden', expression: ['Patient.id'] });
    const noReportScope = await app.inject({ url: '/fhir-fusion/Patient/p0/$similar-cases', headers: { authorization: 'Bearer no-reports' } });
    expect(noReportScope.statusCode).toBe(403);
    const patientWideSearch = await app.inject({ url: '/fhir-fusion/$similar-ecgs?text=af', headers: { authorization: 'Bearer patient-p0' } });
    expect(patientWideSearch.statusCode).toBe(403);
    // None of the refused calls reached the EHR or the index.
    expect(seenTokens.length).toBe(before);
    const own = await app.inject({ url: '/fhir-fusion/Patient/p0/$similar-cases', headers: { authorization: 'Bearer patient-p0' } });
    expect(own.statusCode).toBe(200);
    expect(introspected).toContain('8f14e45fceea167a5a36dedd4bea2543');
  });
});
