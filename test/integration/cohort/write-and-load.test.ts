import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getStatus } from '@medplum/core';
import { FhirRouter, MemoryRepository } from '@medplum/fhir-router';
import type { ImagingStudy, Observation, Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CohortLoadError,
  generateCohort,
  loadCohort,
  writeCohort,
} from '../../../src/sandbox/cohort/index.js';
import type { CohortOptions, LoadProgress } from '../../../src/sandbox/cohort/index.js';
import { ensureR4DefinitionsIndexed } from '../../../src/writeback/index-r4-definitions.js';
import type { RunningOrthanc } from '../../helpers/orthanc.js';
import { startOrthanc } from '../../helpers/orthanc.js';
import { findOrthanc, needsPeer } from '../../helpers/peers.js';

const fhirBase = 'http://ehr.test/fhir/R4';

/** A `fetch` that answers the FHIR base URL with Medplum's FHIR router over an in-memory repository. */
function medplumFetch(repo: MemoryRepository, router: FhirRouter, fallback: typeof fetch): typeof fetch {
  return async (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (!url.startsWith(fhirBase)) return fallback(input, init);
    const body = typeof init?.body === 'string' ? (JSON.parse(init.body) as unknown) : undefined;
    // The router matches on `url` relative to the FHIR base ('' is the base itself).
    const path = url.slice(fhirBase.length).replace(/^\//, '');
    const [outcome, resource] = await router.handleRequest(
      { method: (init?.method ?? 'GET') as 'POST', url: path, pathname: '', body, params: {}, query: {} },
      repo,
    );
    return new Response(JSON.stringify(resource ?? outcome), {
      status: getStatus(outcome),
      headers: { 'content-type': 'application/fhir+json' },
    });
  };
}

async function countOf(
  repo: MemoryRepository,
  type: 'Patient' | 'Observation' | 'ImagingStudy' | 'DiagnosticReport' | 'Endpoint',
): Promise<number> {
  const bundle = await repo.search({ resourceType: type, count: 1000 });
  return bundle.entry?.length ?? 0;
}

describe('writeCohort + loadCohort into a FHIR server and a real DICOMweb server (Orthanc)', () => {
  const options: CohortOptions = {
    patients: 4,
    seed: 77,
    now: new Date('2026-03-01T12:00:00Z'),
    dicomwebBaseUrl: 'http://pacs.test/dicom-web',
    imageSize: 64,
    rates: { image: 0.25, ecg: 0.25 },
  };
  let dir: string;
  const orthancPeer = findOrthanc();
  let orthanc: RunningOrthanc;

  beforeAll(async () => {
    ensureR4DefinitionsIndexed();
    dir = mkdtempSync(join(tmpdir(), 'cohort-'));
    if (orthancPeer.available) orthanc = await startOrthanc();
  });

  afterAll(async () => {
    await orthanc?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('writes NDJSON per resource type, DICOM per SOP instance, labels and cohort.json', async () => {
    const progress: number[] = [];
    const manifest = await writeCohort(dir, options, (p) => progress.push(p.done));
    expect(progress).toEqual([1, 2, 3, 4]);
    const lines = (f: string) => readFileSync(join(dir, f), 'utf8').trim().split('\n');
    expect(lines('fhir/Patient.ndjson')).toHaveLength(4);
    expect(lines('fhir/Endpoint.ndjson')).toHaveLength(1);
    expect(lines('labels.ndjson').map((l) => (JSON.parse(l) as { patientId: string }).patientId)).toEqual(
      lines('fhir/Patient.ndjson').map((l) => (JSON.parse(l) as Patient).id),
    );
    const dicomFiles = readdirSync(join(dir, 'dicom'));
    expect(dicomFiles.length).toBe(
      (manifest.counts.dicom['chest-radiograph'] ?? 0) + (manifest.counts.dicom['ecg-waveform'] ?? 0),
    );
    const studies = lines('fhir/ImagingStudy.ndjson').map((l) => JSON.parse(l) as ImagingStudy);
    for (const s of studies)
      expect(existsSync(join(dir, 'dicom', `${s.series?.[0]?.instance?.[0]?.uid ?? ''}.dcm`))).toBe(true);
    const cohortJson = JSON.parse(readFileSync(join(dir, 'cohort.json'), 'utf8')) as {
      counts: { patients: number };
      prevalenceTable: string;
      options: { seed: number };
    };
    expect(cohortJson.counts.patients).toBe(4);
    expect(cohortJson.options.seed).toBe(77);
    expect(cohortJson.prevalenceTable).toContain('| acute heart failure |');
    // Labels are only in labels.ndjson.
    for (const f of readdirSync(join(dir, 'fhir')))
      expect(readFileSync(join(dir, 'fhir', f), 'utf8')).not.toContain('acuteHeartFailure');
  });

  it('loads the directory: one transaction per patient into Medplum, STOW-RS into Orthanc, idempotently', async (context) => {
    needsPeer(context, orthancPeer);
    const repo = new MemoryRepository();
    const router = new FhirRouter();
    const doFetch = medplumFetch(repo, router, fetch);
    const events: LoadProgress[] = [];
    const summary = await loadCohort({
      dir,
      fhirBaseUrl: fhirBase,
      dicomwebBaseUrl: orthanc.dicomwebBaseUrl,
      fetch: doFetch,
      onProgress: (p) => events.push(p),
    });
    expect(summary.patients).toBe(4);
    const dicomCount = readdirSync(join(dir, 'dicom')).length;
    expect(summary.dicomInstances).toBe(dicomCount);
    expect(events.filter((e) => e.phase === 'fhir').map((e) => e.done)).toEqual([1, 2, 3, 4]);
    expect(events.at(-1)?.total).toBe(dicomCount);
    expect(await countOf(repo, 'Patient')).toBe(4);
    expect(await countOf(repo, 'Endpoint')).toBe(1);
    const observations = await countOf(repo, 'Observation');
    const instances = (await (await fetch(`${orthanc.restUrl}/instances`)).json()) as string[];
    expect(instances).toHaveLength(dicomCount);

    // Second load: same state (PUT with ids in FHIR; STOW of the same SOP instances).
    await loadCohort({ dir, fhirBaseUrl: fhirBase, dicomwebBaseUrl: orthanc.dicomwebBaseUrl, fetch: doFetch });
    expect(await countOf(repo, 'Patient')).toBe(4);
    expect(await countOf(repo, 'Observation')).toBe(observations);
    expect((await (await fetch(`${orthanc.restUrl}/instances`)).json()) as string[]).toHaveLength(dicomCount);

    // WADO-RS can retrieve what an ImagingStudy points at (PS3.18 §10.4).
    const study = (await repo.search<ImagingStudy>({ resourceType: 'ImagingStudy', count: 1 })).entry?.[0]
      ?.resource;
    const studyUid = study?.identifier?.[0]?.value?.replace('urn:oid:', '') ?? '';
    const metadata = await fetch(`${orthanc.dicomwebBaseUrl}/studies/${studyUid}/metadata`, {
      headers: { accept: 'application/dicom+json' },
    });
    expect(metadata.status).toBe(200);
    const json = (await metadata.json()) as Array<Record<string, { Value?: unknown[] }>>;
    expect(json[0]?.['00080018']?.Value?.[0]).toBe(study?.series?.[0]?.instance?.[0]?.uid);
  });

  it('loads straight from the generator and keeps the ECG samples intact', async (context) => {
    needsPeer(context, orthancPeer);
    const repo = new MemoryRepository();
    const router = new FhirRouter();
    const generated = [...generateCohort({ ...options, seed: 78, rates: { ecg: 0 } })];
    const summary = await loadCohort({
      generator: generated,
      fhirBaseUrl: fhirBase,
      dicomwebBaseUrl: orthanc.dicomwebBaseUrl,
      fetch: medplumFetch(repo, router, fetch),
    });
    expect(summary.patients).toBe(4);
    const stored = await repo.readResource<Observation>(
      'Observation',
      `${generated[0]?.patientId ?? ''}-ecg`,
    );
    expect(stored.component?.[0]?.valueSampledData?.data?.split(' ')).toHaveLength(5000);
  });

  it('reports a refused transaction as CohortLoadError with the server OperationOutcome', async () => {
    const refusing: typeof fetch = async () =>
      new Response(
        JSON.stringify({
          resourceType: 'OperationOutcome',
          issue: [{ severity: 'error', code: 'invalid', expression: ['Bundle.entry[0]'] }],
        }),
        { status: 400 },
      );
    const error = await loadCohort({
      generator: generateCohort({ ...options, patients: 1, labelsOnly: true }),
      fhirBaseUrl: fhirBase,
      // The refused FHIR transaction stops the load before any DICOMweb call: no PACS needed.
      dicomwebBaseUrl: options.dicomwebBaseUrl,
      fetch: refusing,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CohortLoadError);
    expect((error as CohortLoadError).status).toBe(400);
    expect((error as CohortLoadError).outcome?.issue[0]?.expression).toEqual(['Bundle.entry[0]']);
  });
});
