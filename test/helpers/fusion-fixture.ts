import type { MedplumClient } from '@medplum/core';
import type { Pool } from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { createEhrClient } from '../../src/fhir/ehr-client.js';
import { syncSubscriptions } from '../../src/subscriptions/subscription-sync.js';
import type { AppOptions } from '../../src/app.js';
import type { RunningServer } from '../../src/main.js';
import { startServer } from '../../src/main.js';
import { createPipelineStages } from '../../src/pipeline/pipeline-stages.js';
import type { Runtime } from '../../src/runtime/open-runtime.js';
import type { SandboxEhr, SandboxEhrOptions } from '../../src/sandbox/ehr/sandbox-ehr.js';
import { createSandboxEhr } from '../../src/sandbox/ehr/sandbox-ehr.js';
import type { GeneratedPatient } from '../../src/sandbox/cohort/generate-patient.js';
import { generateCohort } from '../../src/sandbox/cohort/generate-patient.js';
import { loadCohort } from '../../src/sandbox/cohort/load-cohort.js';
import { testConfig } from './test-config.js';
import type { TestDatabase } from './test-database.js';
import { createTestDatabase } from './test-database.js';

/**
 * Polls `probe` until it returns something other than `undefined`, then returns that. Throws
 * `timed out waiting for <what>` after `timeoutMs` (a bound on a hang, never a speed assertion).
 */
export async function pollUntil<T>(
  probe: () => Promise<T | undefined>,
  what: string,
  options: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 45_000);
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 200));
  }
}

/** A sandbox EHR, a database of its own and fhir-fusion serving against both. */
export interface FusionFixture {
  db: TestDatabase;
  ehr: SandboxEhr;
  /** The sandbox's FHIR base URL. */
  fhirBaseUrl: string;
  /** A client of the sandbox EHR (global fetch, no auth). */
  client: MedplumClient;
  server: RunningServer;
  /** What the server opened: pool, EHR clients, metrics, pipeline. */
  runtime: Runtime;
  pool: Pool;
  /** Stops the server, the sandbox and drops the database (what `useFusionFixture` runs after all). */
  close(): Promise<void>;
}

/** What {@link startFusionFixture} starts. */
export interface FusionFixtureOptions {
  /** Sandbox options (default: no logger). */
  sandbox?: SandboxEhrOptions;
  /** Configuration overrides on top of the test defaults, database and FHIR base URL. */
  config?: (fixture: { db: TestDatabase; fhirBaseUrl: string }) => Record<string, string>;
  /** Writes data into the sandbox before the server starts. */
  seed?: (client: MedplumClient, ehr: SandboxEhr) => Promise<void>;
  /** Registers fhir-fusion's subscriptions on the sandbox after start (default true). */
  subscribe?: boolean;
  /** Role and fetch of the server. */
  server?: Omit<AppOptions, 'config'>;
}

/**
 * Starts a test database, the sandbox EHR on a free loopback port and fhir-fusion against both,
 * and registers fhir-fusion's subscriptions. On failure, what was started is stopped.
 */
export async function startFusionFixture(options: FusionFixtureOptions = {}): Promise<FusionFixture> {
  const stops: Array<() => Promise<unknown>> = [];
  const close = async (): Promise<void> => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  };
  try {
    const db = await createTestDatabase();
    stops.push(() => db.drop());
    const ehr = await createSandboxEhr({ logger: false, ...options.sandbox });
    stops.push(() => ehr.close());
    const fhirBaseUrl = await ehr.listen(0, '127.0.0.1');
    const client = createEhrClient({ fhirBaseUrl, fetch });
    await options.seed?.(client, ehr);
    const config = testConfig({ DATABASE_URL: db.url, FHIR_BASE_URL: fhirBaseUrl, ...options.config?.({ db, fhirBaseUrl }) });
    const server = await startServer(config, options.server ?? {});
    stops.push(() => server.stop());
    if (options.subscribe ?? true) await syncSubscriptions({ client, pool: server.runtime.pool, publicUrl: server.url });
    return { db, ehr, fhirBaseUrl, client, server, runtime: server.runtime, pool: server.runtime.pool, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/**
 * `build(t)`-style: starts a {@link FusionFixture} before all tests of the enclosing `describe`
 * (or file) and closes it after all of them. Returns an accessor: call it inside tests.
 */
export function useFusionFixture(options: FusionFixtureOptions = {}, timeoutMs = 180_000): () => FusionFixture {
  let fixture: FusionFixture | undefined;
  beforeAll(async () => {
    fixture = await startFusionFixture(options);
  }, timeoutMs);
  afterAll(async () => {
    await fixture?.close();
  }, timeoutMs);
  return () => {
    if (!fixture) throw new Error('the fhir-fusion fixture did not start (see the beforeAll error)');
    return fixture;
  };
}

/**
 * Generates `patients` synthetic patients with every modality present and no data errors (the
 * generator's seeded cohort), loads them into the fixture's EHR and DICOMweb, and returns them.
 */
export async function loadCompleteCohort(options: {
  fhirBaseUrl: string;
  dicomwebBaseUrl: string;
  patients: number;
  seed: number;
  imageSize: number;
  now: Date;
}): Promise<GeneratedPatient[]> {
  const { fhirBaseUrl, dicomwebBaseUrl, ...generate } = options;
  const cohort = [...generateCohort({ ...generate, dicomwebBaseUrl, rates: { image: 0, ecg: 0, report: 0, dataError: 0 } })];
  await loadCohort({ generator: cohort, fhirBaseUrl, dicomwebBaseUrl });
  return cohort;
}

/**
 * The pipeline stages built from the fixture server's own runtime (its config, EHR clients,
 * engine, models, validator and drafter), with `overrides` for the one dependency a test varies
 * (a forced engine, a failing PACS fetch, a refusing write-back client, another config).
 */
export function pipelineStagesOf(
  runtime: Runtime,
  overrides: Partial<Parameters<typeof createPipelineStages>[0]> = {},
): ReturnType<typeof createPipelineStages> {
  const serving = runtime.serving;
  if (!serving) throw new Error('the fixture loaded no models');
  return createPipelineStages({
    config: runtime.config,
    ehr: runtime.ehr,
    writebackEhr: runtime.writebackEhr,
    engine: serving.engine,
    outbound: runtime.outbound,
    metrics: runtime.metrics,
    models: () => serving.models,
    validator: runtime.validator,
    ...(serving.drafter ? { drafter: serving.drafter } : {}),
    ...overrides,
  });
}
