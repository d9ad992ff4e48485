import { resolve } from 'node:path';
import type { DiagnosticReport, Observation, Patient, Resource } from '@medplum/fhirtypes';
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load-config.js';
import type { PatientRecord } from '../../../src/contracts/patient-record.js';
import { ecgLeadsFromSource } from '../../../src/preprocess/ecg/ecg-from-record-source.js';
import { renderEcgImage } from '../../../src/preprocess/ecg/render-ecg-image.js';
import { toModelEcg } from '../../../src/preprocess/ecg/to-model-ecg.js';
import { createUcumConverter } from '../../../src/preprocess/tabular/unit-conversion.js';
import { generateCohort } from '../../../src/sandbox/cohort/index.js';
import { openSimilarCases } from '../../../src/similar-cases/open-similar-cases.js';
import type { SimilarCases } from '../../../src/similar-cases/similar-cases-plugin.js';
import { runMigrations } from '../../../src/store/migrate.js';
import { repoRoot } from '../../helpers/fixtures.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/test-database.js';

/** Synthetic patients from the project's generator, each as the assembled record the pipeline indexes. */
function records(count: number): Array<{ record: PatientRecord; ecg: Observation }> {
  const cohort = [
    ...generateCohort({
      patients: count,
      seed: 2020,
      now: new Date('2026-06-01T00:00:00Z'),
      dicomwebBaseUrl: 'http://pacs.invalid/dicomweb',
      imageSize: 64,
      rates: { ecg: 0, report: 0 },
    }),
  ];
  return cohort.map((p) => {
    const of = <T extends Resource>(type: T['resourceType']) =>
      p.resources.filter((r): r is T => r.resourceType === type);
    const ecg = of<Observation>('Observation').find((o) => o.component?.some((c) => c.valueSampledData))!;
    const record: PatientRecord = {
      patient: of<Patient>('Patient')[0]!,
      asOf: '2026-06-01T00:00:00Z',
      roundTrips: 1,
      modalities: {
        tabular: { status: 'missing', reason: 'none-in-window', detail: '' },
        text: { status: 'present', data: of<DiagnosticReport>('DiagnosticReport'), sources: [] },
        image: { status: 'missing', reason: 'none-in-window', detail: '' },
        ecg: { status: 'present', data: ecg, sources: [{ resourceType: 'Observation', id: ecg.id ?? '' }] },
      },
    };
    return { record, ecg };
  });
}

describe('SIMILAR_CASES_MODEL=ecg-report-clip@2: similar cases through the ViT over the rendered ECG', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let similarCases: SimilarCases | undefined;
  const patients = records(3);

  beforeAll(async () => {
    db = await createTestDatabase();
    pool = new pg.Pool({ connectionString: db.url, max: 2 });
    const logger = pino({ level: 'silent' });
    await runMigrations(pool, resolve(repoRoot, 'migrations'), logger);
    const config = loadConfig({
      FHIR_BASE_URL: 'http://unused.invalid/fhir',
      SIMILAR_CASES_MODEL: 'ecg-report-clip@2',
    });
    similarCases = await openSimilarCases(config, pool, repoRoot, logger);
  });
  afterAll(async () => {
    await similarCases?.close();
    await pool.end();
    await db.drop();
  });

  it('opens the configured image model and indexes each patient by the embedding of its rendered ECG', async () => {
    expect(similarCases?.model.key).toBe('ecg-report-clip@2');
    const sc = similarCases!;
    for (const { record } of patients) expect(await sc.indexRecord(record)).toBe('indexed');
    // The stored embedding is the ViT's embedding of the image renderEcgImage draws from the
    // record's ECG (the preprocessing the model was trained on), not of the waveform.
    const { record, ecg } = patients[0]!;
    const leads = ecgLeadsFromSource(ecg, { convertUnit: createUcumConverter() });
    if (!leads.ok) throw new Error(leads.detail);
    const model = toModelEcg(leads.value, sc.model.manifest.preprocessing.ecg);
    if (!model.ok) throw new Error(model.detail);
    const [expected] = await sc.model.embedEcg([renderEcgImage(model.value, [96, 128])]);
    const stored = await sc.index.ecgEmbeddingOf(`Patient/${record.patient.id}`);
    expect(stored).toHaveLength(64);
    stored!.forEach((v, k) => expect(v).toBeCloseTo(expected![k]!, 5));
    // The other two are its neighbours, the patient itself never.
    const hits = await sc.index.nearestByEcg(stored!, 5, `Patient/${record.patient.id}`);
    expect(hits.map((h) => h.patientRef).sort()).toEqual(
      patients
        .slice(1)
        .map((p) => `Patient/${p.record.patient.id}`)
        .sort(),
    );
  });
});
