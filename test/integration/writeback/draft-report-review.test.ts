import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type {
  DiagnosticReport,
  OperationOutcome,
  Patient,
  Provenance,
  RiskAssessment,
} from '@medplum/fhirtypes';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DescriptionDrafter, DescriptionDraftResult } from '../../../src/contracts/description-draft.js';
import type { ModelManifest } from '../../../src/contracts/manifest-types.js';
import type { DrafterFactory } from '../../../src/pipeline/draft-description.js';
import { scorePatient, type PatientScore } from '../../../src/pipeline/score-patient.js';
import { assessPatient } from '../../../src/pipeline/assess-patient.js';
import { createEhrClient } from '../../../src/fhir/ehr-client.js';
import { upsertSubscriptionSql } from '../../../src/store/subscriptions-repository.js';
import { pino } from 'pino';
import { createClinicianFhir } from '../../../src/review/smart-app/clinician-fhir.js';
import { buildDraftDecision } from '../../../src/review/smart-app/draft-decision.js';
import { reviewAppPlugin } from '../../../src/review/smart-app/review-app-plugin.js';
import { createDicomStore } from '../../../src/sandbox/dicomweb/dicom-store.js';
import { dicomwebPlugin } from '../../../src/sandbox/dicomweb/dicomweb-plugin.js';
import { repoRoot } from '../../helpers/fixtures.js';
import { loadCompleteCohort, pipelineStagesOf, useFusionFixture } from '../../helpers/fusion-fixture.js';
import { testConfig } from '../../helpers/test-config.js';
import { cookieHeader, cookiesFrom } from '../review/review-app-harness.js';
import { draftingModel } from '../../unit/writeback/draft-fixture.js';

/**
 * Issue #20 end to end on the sandbox EHR: the server's own pipeline, with a drafter made here (a
 * fixed draft, or one naming the patient), writes a preliminary AI-drafted DiagnosticReport in the
 * assessment's transaction; the review app accepts it with the clinician's token, conditional on
 * the version shown; a stale version is refused; a later write never overwrites the final report.
 * The reference models and the cohort are synthetic. About 10 s: one model is loaded and two
 * patients with radiographs are assembled and scored several times.
 */
const dicom = Fastify({ logger: false });
let dicomwebBaseUrl = '';
const responses: DescriptionDraftResult[] = [];
const DRAFT_TEXT = 'The cardiac silhouette is enlarged. No pleural effusion.';

const drafter: DescriptionDrafter = {
  modelName: 'cxr-caption',
  modelVersion: '1',
  async draft() {
    return (
      responses.shift() ?? {
        status: 'drafted',
        text: DRAFT_TEXT,
        truncated: false,
        modelName: 'cxr-caption',
        modelVersion: '1',
        modelSha256: 'c'.repeat(64),
      }
    );
  },
  async close() {},
};
const factoryCalls: Array<{ name: string; version: string }> = [];
const openDrafter: DrafterFactory = async ({ name, version }) => {
  factoryCalls.push({ name, version });
  const imageCnn = JSON.parse(
    readFileSync(join(repoRoot, 'models', 'image-cnn', '1', 'manifest.json'), 'utf8'),
  ) as ModelManifest;
  if (!imageCnn.preprocessing.image) throw new Error('image-cnn reads no image');
  return {
    drafter,
    image: imageCnn.preprocessing.image,
    description: draftingModel(),
    executionProvider: 'cpu',
  };
};

beforeAll(async () => {
  await dicom.register(dicomwebPlugin, { prefix: '/dicomweb', store: createDicomStore() });
  dicomwebBaseUrl = `${await dicom.listen({ port: 0, host: '127.0.0.1' })}/dicomweb`;
}, 60_000);
afterAll(async () => {
  await dicom.close();
});

const fixture = useFusionFixture({
  subscribe: false, // the test scores each patient itself
  config: () => ({
    DICOMWEB_BASE_URL: dicomwebBaseUrl,
    ACTIVE_MODELS: 'image-cnn@1',
    DESCRIPTION_MODEL: 'cxr-caption@1',
    SIMILAR_CASES_MODEL: 'off',
  }),
  server: { openDrafter },
});

let patientIds: string[] = [];
const now = new Date();

async function score(patientId: string): Promise<PatientScore> {
  const { runtime, pool } = fixture();
  const serving = runtime.serving;
  if (!serving) throw new Error('no models loaded');
  const record = await serving.pipeline.assemble(patientId, now);
  if (!record) throw new Error('patient not in the sandbox');
  return scorePatient(record, {
    ...serving.pipeline,
    db: pool,
    models: serving.models,
    traceId: `draft-${patientId}`,
  });
}

async function drafts(patientId: string): Promise<DiagnosticReport[]> {
  const found = await fixture().client.searchResources(
    'DiagnosticReport',
    { subject: `Patient/${patientId}` },
    { cache: 'no-cache' },
  );
  return (found as DiagnosticReport[]).filter((r) =>
    (r.meta?.security ?? []).some((c) => c.code === 'AIAST'),
  );
}

describe('AI-drafted description: preliminary write-back and clinician review (issue #20)', () => {
  beforeAll(async () => {
    const { fhirBaseUrl } = fixture();
    const cohort = await loadCompleteCohort({
      fhirBaseUrl,
      dicomwebBaseUrl,
      patients: 2,
      seed: 2_020,
      imageSize: 128,
      now,
    });
    patientIds = cohort.map((p) => p.patientId);
  }, 120_000);

  it('writes a preliminary report in the assessment transaction, valid against base R4 and the profiles, once', async () => {
    const { runtime, client } = fixture();
    expect(factoryCalls).toEqual([{ name: 'cxr-caption', version: '1' }]);
    const id = patientIds[0] ?? '';
    const first = await score(id);
    expect(first.written).toBe(1);
    expect(first.draft).toMatchObject({ status: 'written', outcome: 'created' });
    const [report, ...others] = await drafts(id);
    expect(others).toEqual([]);
    expect(report?.status).toBe('preliminary');
    expect(report?.conclusion).toBe(DRAFT_TEXT);
    expect(report?.imagingStudy?.[0]?.reference).toMatch(/^ImagingStudy\/[^/]+\/_history\/[^/]+$/);
    const provenances = (await client.searchResources(
      'Provenance',
      { target: `DiagnosticReport/${report?.id ?? ''}` },
      { cache: 'no-cache' },
    )) as Provenance[];
    expect(provenances).toHaveLength(1);
    for (const resource of [report, provenances[0]]) {
      expect(
        runtime.validator.validate(resource as DiagnosticReport | Provenance),
        resource?.resourceType,
      ).toBeUndefined();
    }
    // The assessment was written beside it, in the same transaction.
    expect(
      await client.searchResources('RiskAssessment', { subject: `Patient/${id}` }, { cache: 'no-cache' }),
    ).toHaveLength(1);
    const again = await score(id);
    expect(again.draft).toMatchObject({ status: 'written', outcome: 'exists' });
    expect(await drafts(id)).toHaveLength(1);
  }, 120_000);

  it('writes no report when the draft names the patient, and says why without the name', async () => {
    const { client } = fixture();
    const id = patientIds[1] ?? '';
    const patient = await client.readResource('Patient', id);
    const family = (patient as Patient).name?.[0]?.family ?? '';
    expect(family.length).toBeGreaterThan(1);
    responses.push({
      status: 'drafted',
      text: `${family} has an enlarged heart.`,
      truncated: false,
      modelName: 'cxr-caption',
      modelVersion: '1',
      modelSha256: 'c'.repeat(64),
    });
    const scored = await score(id);
    expect(scored.draft).toEqual({
      status: 'not-drafted',
      reason: 'draft refused: it contains a patient identifier (name)',
    });
    expect(JSON.stringify(scored)).not.toContain(family);
    expect(await drafts(id)).toEqual([]);
    // The assessment itself is still written.
    expect(
      (await client.searchResources(
        'RiskAssessment',
        { subject: `Patient/${id}` },
        { cache: 'no-cache' },
      )) as RiskAssessment[],
    ).toHaveLength(1);
  }, 120_000);

  it('the job logs why a draft was refused, naming the kind of identifier and never its value', async () => {
    const { client, pool, runtime } = fixture();
    const serving = runtime.serving;
    if (!serving) throw new Error('no models loaded');
    const id = patientIds[1] ?? '';
    const patient = (await client.readResource('Patient', id)) as Patient;
    const given = patient.name?.[0]?.given?.[0] ?? '';
    expect(given.length).toBeGreaterThan(1);
    responses.push({
      status: 'drafted',
      text: `Enlarged heart; patient ${given}, born ${patient.birthDate ?? ''}.`,
      truncated: false,
      modelName: 'cxr-caption',
      modelVersion: '1',
      modelSha256: 'c'.repeat(64),
    });
    const sub = upsertSubscriptionSql({
      key: 'draft-log',
      kind: 'rest-hook-criteria',
      criteria: 'Observation',
      secret: 's',
      status: 'active',
    });
    await pool.query(sub.text, sub.values);
    await pool.query(
      `INSERT INTO notification_inbox (dialect, subscription, dedupe_key, resource_type, resource_id, patient_id, trace_id, status)
       VALUES ('rest-hook-post', 'draft-log', 'draft-log-1', 'Patient', $1, $1, 'trace-draft-log', 'queued')`,
      [id],
    );
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
    const summary = await assessPatient(
      {
        id: 'draft-log-job',
        data: { patientId: id, traceId: 'trace-draft-log' },
        retryCount: 0,
        retryLimit: 3,
      },
      { ...serving.pipeline, logger },
    );
    expect(summary.status).toBe('processed');
    const refusal = lines
      .map((l) => JSON.parse(l) as { msg: string; reason?: string })
      .find((l) => l.msg === 'description not drafted');
    expect(refusal?.reason).toMatch(
      /^draft refused: it contains a patient identifier \((name, birth-date|birth-date, name)\)$/,
    );
    const logged = lines.join('\n');
    expect(logged).not.toContain(given);
    expect(logged).not.toContain(patient.birthDate ?? 'no birth date');
    expect(await drafts(id)).toEqual([]);
  }, 120_000);

  it('an EHR that refuses the draft still gets the assessment, and the refusal is reported', async () => {
    const { runtime, pool, fhirBaseUrl } = fixture();
    const serving = runtime.serving;
    if (!serving?.drafter) throw new Error('no drafter served');
    // An EHR that lets fhir-fusion write assessments but not DiagnosticReports (e.g. no scope for it).
    const refusing: typeof fetch = async (input, init) => {
      if (init?.method === 'POST' && String(init.body ?? '').includes('"resourceType":"DiagnosticReport"')) {
        const outcome = {
          resourceType: 'OperationOutcome',
          issue: [{ severity: 'error', code: 'forbidden', expression: ['Bundle.entry[6]'] }],
        };
        return new Response(JSON.stringify(outcome), {
          status: 403,
          headers: { 'content-type': 'application/fhir+json' },
        });
      }
      return fetch(input, init);
    };
    const stages = pipelineStagesOf(runtime, {
      writebackEhr: createEhrClient({ fhirBaseUrl, fetch: refusing }),
    });
    const id = patientIds[1] ?? '';
    const record = await stages.assemble(id, now);
    if (!record) throw new Error('patient not in the sandbox');
    const scored = await scorePatient(record, {
      ...stages,
      db: pool,
      models: serving.models,
      traceId: 'draft-refused',
    });
    expect(scored.written).toBe(1);
    expect(scored.draft).toEqual({
      status: 'not-drafted',
      reason:
        'the EHR refused the draft: EHR rejected the write-back transaction: forbidden at Bundle.entry[6]',
    });
    expect(await drafts(id)).toEqual([]);
  }, 120_000);

  describe('review app', () => {
    let app: FastifyInstance;
    let cookie = '';
    const ISS = () => fixture().fhirBaseUrl;

    beforeAll(async () => {
      const { fhirBaseUrl, pool } = fixture();
      // SMART discovery and the token endpoint are played here; every FHIR call goes to the sandbox.
      const ehrFetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
        const url = String(input);
        const json = (body: unknown) =>
          new Response(JSON.stringify(body), { headers: { 'content-type': 'application/json' } });
        if (url.endsWith('/.well-known/smart-configuration')) {
          return json({
            authorization_endpoint: `${fhirBaseUrl}/auth/authorize`,
            token_endpoint: `${fhirBaseUrl}/auth/token`,
            code_challenge_methods_supported: ['S256'],
          });
        }
        if (url === `${fhirBaseUrl}/auth/token`) {
          return json({
            access_token: 'clinician-token',
            token_type: 'Bearer',
            expires_in: 3600,
            scope: 'launch openid fhirUser patient/*.rs patient/DiagnosticReport.u',
            patient: patientIds[0],
            fhirUser: 'Practitioner/dr-1',
          });
        }
        return fetch(input, init);
      };
      const config = testConfig({ FHIR_BASE_URL: fhirBaseUrl, PUBLIC_URL: 'https://fusion.example.org' });
      app = Fastify({ logger: false });
      await app.register(reviewAppPlugin, {
        config,
        pool,
        fetch: ehrFetch,
        validator: fixture().runtime.validator,
      });
      await app.ready();
      const launch = await app.inject({
        method: 'GET',
        url: `/review/launch?${new URLSearchParams({ iss: fhirBaseUrl, launch: 'l-1' }).toString()}`,
      });
      expect(launch.statusCode).toBe(302);
      const state = new URL(String(launch.headers.location)).searchParams.get('state') ?? '';
      const launchCookies = cookiesFrom(launch.headers['set-cookie']);
      const callback = await app.inject({
        method: 'GET',
        url: `/review/callback?code=c-1&state=${state}`,
        headers: { cookie: cookieHeader(launchCookies) },
      });
      expect(callback.statusCode).toBe(303);
      cookie = cookieHeader({ ...launchCookies, ...cookiesFrom(callback.headers['set-cookie']) });
    });
    afterAll(async () => {
      await app?.close();
    });

    const csrfOf = (html: string) => /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';
    const post = (body: Record<string, string>, accept = 'text/html') =>
      app.inject({
        method: 'POST',
        url: '/review/draft',
        headers: { cookie, accept, 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams(body).toString(),
      });

    it('shows the preliminary draft; a stale version gets 409 with an OperationOutcome; accepting writes final + a verifier Provenance', async () => {
      const { client } = fixture();
      const id = patientIds[0] ?? '';
      const page = await app.inject({ method: 'GET', url: '/review', headers: { cookie } });
      expect(page.statusCode).toBe(200);
      expect(page.body).toContain('AI-drafted, not reviewed by a clinician.');
      expect(page.body).toContain('Accept as final');
      const [report] = await drafts(id);
      const version = report?.meta?.versionId ?? '';
      const csrf = csrfOf(page.body);
      expect(page.body).toContain(`name="version" value="${version}"`);

      // A forged form (no CSRF token) writes nothing.
      expect((await post({ report: report?.id ?? '', version, decision: 'accept' })).statusCode).toBe(403);

      const stale = await post(
        { csrf, report: report?.id ?? '', version: `${version}0`, decision: 'accept' },
        'application/fhir+json',
      );
      expect(stale.statusCode).toBe(409);
      const outcome = stale.json<OperationOutcome>();
      expect(outcome.resourceType).toBe('OperationOutcome');
      expect(outcome.issue[0]).toMatchObject({ severity: 'error', code: 'conflict' });
      expect((await drafts(id))[0]?.status).toBe('preliminary');

      const accepted = await post({ csrf, report: report?.id ?? '', version, decision: 'accept' });
      expect(accepted.statusCode).toBe(303);
      expect(accepted.headers.location).toBe('/review?draft=accepted');
      const [final] = await drafts(id);
      expect(final?.status).toBe('final');
      expect(final?.id).toBe(report?.id);
      expect(final?.conclusion).toBe(DRAFT_TEXT);
      expect(final?.meta?.versionId).not.toBe(version);
      expect(fixture().runtime.validator.validate(final as DiagnosticReport)).toBeUndefined();
      const verifier = (
        (await client.searchResources(
          'Provenance',
          { target: `DiagnosticReport/${report?.id ?? ''}` },
          { cache: 'no-cache' },
        )) as Provenance[]
      ).find((p) => p.agent?.some((a) => a.type?.coding?.some((c) => c.code === 'verifier')));
      expect(verifier?.agent?.[0]?.who?.reference).toBe('Practitioner/dr-1');
      expect(verifier?.entity).toEqual([
        { role: 'revision', what: { reference: `DiagnosticReport/${report?.id ?? ''}/_history/${version}` } },
      ]);

      // Accepting again (the page was not reloaded) is refused: it is no longer preliminary.
      expect((await post({ csrf, report: report?.id ?? '', version, decision: 'reject' })).statusCode).toBe(
        409,
      );
      // A later write of the same draft finds the report and leaves it final.
      expect((await score(id)).draft).toMatchObject({ status: 'written', outcome: 'exists' });
      const after = await drafts(id);
      expect(after).toHaveLength(1);
      expect(after[0]?.status).toBe('final');
    }, 120_000);

    it('the EHR refuses a decision whose If-Match no longer holds (412), which the app shows as 409', async () => {
      const id = patientIds[0] ?? '';
      const [report] = await drafts(id);
      const fhir = createClinicianFhir({ iss: ISS(), accessToken: 'clinician-token', fetch });
      const outdated = { ...report, meta: { ...report?.meta, versionId: '1' } } as DiagnosticReport;
      const refused = fhir.transaction(
        buildDraftDecision({
          report: outdated,
          decision: 'reject',
          fhirUser: 'Practitioner/dr-1',
          reviewer: undefined,
          recorded: new Date().toISOString(),
        }),
        'reject the draft',
      );
      await expect(refused).rejects.toMatchObject({
        status: 409,
        message: expect.stringContaining('HTTP 412'),
      });
      expect((await drafts(id))[0]?.status).toBe('final');
    });
  });
});
