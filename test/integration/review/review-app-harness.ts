import type { Bundle, BundleEntry, Provenance, Resource, RiskAssessment } from '@medplum/fhirtypes';
import Fastify, { type FastifyInstance } from 'fastify';
import pg from 'pg';
import { pino } from 'pino';
import type { Config } from '../../../src/config/config-schema.js';
import {
  AIAST,
  CODE_SYSTEMS,
  PROVENANCE_PARTICIPANT_TYPE,
  RISK_PROBABILITY_SYSTEM,
} from '../../../src/contracts/fusion-terminology.js';
import { reviewAppPlugin } from '../../../src/review/smart-app/review-app-plugin.js';
import { securityOptions, securityPlugin } from '../../../src/security/security-plugin.js';
import { runMigrations } from '../../../src/store/migrate.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/test-database.js';
import { testConfig } from '../../helpers/test-config.js';

/** The fake EHR's FHIR base (never dialled: the app's fetch is the fake below). */
export const EHR_BASE = 'https://ehr.example.org/fhir';
export const PATIENT_ID = 'p-1';
export const PRACTITIONER = 'Practitioner/dr-1';

/** One request the app made to the EHR. */
export interface EhrRequest {
  method: string;
  /** Path and query below the FHIR base, e.g. `RiskAssessment?subject=…` or `` for a batch. */
  path: string;
  /** Entries of a batch request (`Type/id`), when it was one. */
  batch?: string[];
}

/**
 * An in-memory EHR for the review app: SMART discovery, a token endpoint that grants `patient`
 * and `fhirUser`, reads, the RiskAssessment search with `_revinclude`, `_id` searches, batch
 * Bundles (FHIR R4 §3.1.0.11) and creates. Every FHIR request is logged, so a test can count them.
 */
export function createFakeEhr(resources: Resource[], grant: Grant = {}) {
  const store = new Map(resources.map((r) => [`${r.resourceType}/${r.id ?? ''}`, r]));
  const fhirRequests: EhrRequest[] = [];
  const created: Resource[] = [];
  /** `batch: false` answers batch Bundles 405, like an EHR without batch support. */
  const options = { batch: true };
  const json = (body: unknown, status = 200) =>
    new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/fhir+json' } });
  const searchset = (list: Resource[]): Bundle => ({
    resourceType: 'Bundle',
    type: 'searchset',
    total: list.length,
    entry: list.map((resource) => ({ resource })),
  });
  const search = (type: string, params: URLSearchParams): Bundle => {
    const all = [...store.values()].filter((r) => r.resourceType === type);
    const ids = params.get('_id')?.split(',');
    const subject = params.get('subject') ?? params.get('patient');
    const found = all.filter(
      (r) =>
        (!ids || ids.includes(r.id ?? '')) &&
        (!subject ||
          (r as { subject?: { reference?: string } }).subject?.reference ===
            (subject.includes('/') ? subject : `Patient/${subject}`)),
    );
    const included =
      params.get('_revinclude') === 'Provenance:target'
        ? [...store.values()].filter(
            (r): r is Provenance =>
              r.resourceType === 'Provenance' &&
              (r.target ?? []).some((t) =>
                found.some((f) => (t.reference ?? '').startsWith(`${type}/${f.id ?? ''}`)),
              ),
          )
        : [];
    return searchset([...found, ...included]);
  };
  const fetch = async (input: string | URL, init?: RequestInit): Promise<Response> => {
    const url = new URL(String(input));
    const method = init?.method ?? 'GET';
    if (url.pathname === '/fhir/.well-known/smart-configuration') {
      return json({
        authorization_endpoint: 'https://ehr.example.org/auth/authorize',
        token_endpoint: 'https://ehr.example.org/auth/token',
        code_challenge_methods_supported: ['S256'],
      });
    }
    if (url.pathname === '/auth/token') {
      return json({
        access_token: 'clinician-token',
        token_type: 'Bearer',
        expires_in: 3600,
        scope: 'launch openid fhirUser patient/*.rs',
        patient: grant.patient ?? PATIENT_ID,
        fhirUser: grant.fhirUser ?? PRACTITIONER,
        ...(grant.appContext ? { appContext: grant.appContext } : {}),
      });
    }
    const path = url.pathname.replace(/^\/fhir\/?/, '');
    if (method === 'POST' && path === '' && !options.batch) {
      fhirRequests.push({ method, path });
      return json(
        { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'not-supported' }] },
        405,
      );
    }
    if (method === 'POST' && path === '') {
      const bundle = JSON.parse(String(init?.body)) as Bundle;
      const refs = (bundle.entry ?? []).map((e) => e.request?.url ?? '');
      fhirRequests.push({ method, path, batch: refs });
      const entry: BundleEntry[] = refs.map((ref) => {
        const resource = store.get(ref);
        return resource
          ? { resource, response: { status: '200 OK' } }
          : { response: { status: '404 Not Found' } };
      });
      return json({ resourceType: 'Bundle', type: 'batch-response', entry });
    }
    fhirRequests.push({ method, path: `${path}${url.search}` });
    if (method === 'POST') {
      const resource = { ...(JSON.parse(String(init?.body)) as Resource), id: `new-${created.length + 1}` };
      created.push(resource);
      store.set(`${resource.resourceType}/${resource.id ?? ''}`, resource);
      return json(resource, 201);
    }
    const [type = '', id] = path.split('/');
    if (id) {
      const resource = store.get(`${type}/${id}`);
      return resource ? json(resource) : json({ resourceType: 'OperationOutcome', issue: [] }, 404);
    }
    return json(search(type, url.searchParams));
  };
  return { fetch, fhirRequests, created, store, grant, options };
}

/** What the fake EHR's token endpoint grants (mutable between sign-ins). */
export interface Grant {
  patient?: string;
  fhirUser?: string;
  /** CDS Hooks §Link appContext, passed on in the token response. */
  appContext?: string;
}

/** The fake EHR's type. */
export type FakeEhr = ReturnType<typeof createFakeEhr>;

const risk = (code: string) => ({ coding: [{ system: RISK_PROBABILITY_SYSTEM, code, display: code }] });

/** A fhir-fusion RiskAssessment of `model` with `inputs` as basis. */
export function fusionAssessment(input: {
  id: string;
  model: string;
  title: string;
  at: string;
  probability: number;
  riskCode: string;
  inputs: string[];
  patientId?: string;
}): RiskAssessment {
  return {
    resourceType: 'RiskAssessment',
    id: input.id,
    meta: { versionId: '1', security: [AIAST] },
    status: 'final',
    subject: { reference: `Patient/${input.patientId ?? PATIENT_ID}` },
    method: {
      coding: [{ system: CODE_SYSTEMS.model, code: input.model, display: `${input.title} 1.0.0` }],
      text: input.title,
    },
    occurrenceDateTime: input.at,
    performer: { reference: `Device/${input.model}` },
    basis: input.inputs.map((reference) => ({ reference })),
    prediction: [
      {
        outcome: { text: 'Acute heart failure' },
        probabilityDecimal: input.probability,
        qualitativeRisk: risk(input.riskCode),
      },
    ],
  };
}

/** The Provenance fhir-fusion writes with an assessment (author Device). */
export function fusionProvenance(assessment: RiskAssessment): Provenance {
  return {
    resourceType: 'Provenance',
    id: `prov-${assessment.id ?? ''}`,
    target: [{ reference: `RiskAssessment/${assessment.id ?? ''}/_history/1` }],
    recorded: assessment.occurrenceDateTime ?? '',
    agent: [
      {
        type: { coding: [{ system: PROVENANCE_PARTICIPANT_TYPE, code: 'author' }] },
        who: assessment.performer ?? { reference: 'Device/unknown' },
      },
    ],
  };
}

/**
 * A patient with `observations` lab inputs and assessments by two models (attention-fusion and
 * late-fusion, alternating, three each), the practitioner signing in and the models' Devices.
 */
export function twoModelChart(observations = 40): Resource[] {
  const obs: Resource[] = Array.from({ length: observations }, (_, i) => ({
    resourceType: 'Observation',
    id: `obs-${i}`,
    status: 'final',
    subject: { reference: `Patient/${PATIENT_ID}` },
    code: { text: `Lab ${i}` },
    valueQuantity: { value: i, unit: 'mg/dL' },
  }));
  const inputs = obs.map((o) => `Observation/${o.id ?? ''}`);
  const assessments = [0, 1, 2, 3, 4, 5].map((i) => {
    const attention = i % 2 === 0;
    return fusionAssessment({
      id: `ra-${i}`,
      model: attention ? 'attention-fusion' : 'late-fusion',
      title: attention ? 'Attention fusion' : 'Late fusion',
      at: `2026-01-0${i + 1}T10:00:00Z`,
      probability: attention ? 0.8 - i * 0.05 : 0.2 + i * 0.02,
      riskCode: attention ? 'high' : 'low',
      inputs,
    });
  });
  return [
    {
      resourceType: 'Patient',
      id: PATIENT_ID,
      name: [{ family: 'Doe', given: ['Jane'] }],
      gender: 'female',
      birthDate: '1950-01-01',
    },
    {
      resourceType: 'Practitioner',
      id: 'dr-1',
      name: [{ prefix: ['Dr'], given: ['Dana'], family: 'Review' }],
    },
    {
      resourceType: 'Device',
      id: 'attention-fusion',
      deviceName: [{ name: 'Attention fusion', type: 'user-friendly-name' }],
    },
    {
      resourceType: 'Device',
      id: 'late-fusion',
      deviceName: [{ name: 'Late fusion', type: 'user-friendly-name' }],
    },
    ...obs,
    ...assessments,
    ...assessments.map(fusionProvenance),
  ];
}

/** `name=value` pairs from Set-Cookie headers. */
export function cookiesFrom(setCookie: string | string[] | number | undefined): Record<string, string> {
  const list = Array.isArray(setCookie) ? setCookie : typeof setCookie === 'string' ? [setCookie] : [];
  return Object.fromEntries(list.map((c) => (c.split(';')[0] ?? '').split('=') as [string, string]));
}

/** A `Cookie` header from {@link cookiesFrom}'s result (empty values dropped). */
export function cookieHeader(cookies: Record<string, string>): string {
  return Object.entries(cookies)
    .filter(([, v]) => v)
    .map(([k, v]) => `${k}=${v}`)
    .join('; ');
}

/** The review app behind the security plugin, on a fresh migrated database, with a fake EHR. */
export interface ReviewAppHarness {
  app: FastifyInstance;
  ehr: FakeEhr;
  config: Config;
  /** Registered routes (method, url) under `/review`. */
  routes: { method: string; url: string }[];
  /** EHR launch through the callback; returns the Cookie header of the signed-in browser. */
  signIn(query?: Record<string, string>): Promise<string>;
  /** Where the last sign-in's callback redirected to. */
  lastLocation: string;
  close(): Promise<void>;
}

/** Starts {@link ReviewAppHarness}; `env` overrides configuration. */
export async function startReviewApp(input: {
  resources: Resource[];
  env?: Record<string, string>;
  grant?: Grant;
}): Promise<ReviewAppHarness> {
  const db: TestDatabase = await createTestDatabase();
  const pool = new pg.Pool({ connectionString: db.url, max: 2 });
  await runMigrations(pool, 'migrations', pino({ level: 'silent' }));
  const config = testConfig({
    FHIR_BASE_URL: EHR_BASE,
    PUBLIC_URL: 'https://fusion.example.org',
    ...input.env,
  });
  const ehr = createFakeEhr(input.resources, input.grant);
  const app = Fastify({ logger: false });
  const routes: { method: string; url: string }[] = [];
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods)
      if (route.url.startsWith('/review') && method !== 'HEAD') routes.push({ method, url: route.url });
  });
  await app.register(securityPlugin, securityOptions(config));
  app.get(
    '/healthz',
    { schema: { response: { 200: { type: 'object', additionalProperties: true } } } },
    async () => ({ ok: true }),
  );
  await app.register(reviewAppPlugin, { config, pool, fetch: ehr.fetch });
  await app.ready();
  const harness: ReviewAppHarness = {
    app,
    ehr,
    config,
    routes,
    lastLocation: '',
    async signIn(query = { iss: EHR_BASE, launch: 'launch-1' }) {
      const launch = await app.inject({
        method: 'GET',
        url: `/review/launch?${new URLSearchParams(query).toString()}`,
      });
      if (launch.statusCode !== 302) throw new Error(`launch answered ${launch.statusCode}: ${launch.body}`);
      const state = new URL(String(launch.headers.location)).searchParams.get('state') ?? '';
      const cookies = cookiesFrom(launch.headers['set-cookie']);
      const callback = await app.inject({
        method: 'GET',
        url: `/review/callback?${new URLSearchParams({ code: 'code-1', state }).toString()}`,
        headers: { cookie: cookieHeader(cookies) },
      });
      if (callback.statusCode !== 303)
        throw new Error(`callback answered ${callback.statusCode}: ${callback.body}`);
      harness.lastLocation = String(callback.headers.location);
      return cookieHeader({ ...cookies, ...cookiesFrom(callback.headers['set-cookie']) });
    },
    async close() {
      await app.close();
      await pool.end();
      await db.drop();
    },
  };
  return harness;
}
