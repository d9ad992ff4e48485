import { readFileSync, readdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bundle, Encounter, Patient } from '@medplum/fhirtypes';
import { thirdPartyFixture } from '../../helpers/fixtures.js';
import { createSandboxEhr } from '../../../src/sandbox/ehr/sandbox-ehr.js';
import type { SandboxEhr } from '../../../src/sandbox/ehr/sandbox-ehr.js';

const FHIR = { 'content-type': 'application/fhir+json' };
const directory = dirname(thirdPartyFixture('synthea-r4', 'LICENSE'));
const files = readdirSync(directory).filter((f) => f.endsWith('.json'));
// The patient Bundles reference organisations and practitioners conditionally
// (`Organization?identifier=...`), so those Bundles go first.
const referenceFiles = files.filter((f) => /^(hospital|practitioner)Information/.test(f));
const patientFiles = files.filter((f) => !referenceFiles.includes(f));

let sandbox: SandboxEhr;
const loaded = new Map<string, Bundle>();

beforeAll(async () => {
  sandbox = await createSandboxEhr();
  for (const file of [...referenceFiles, ...patientFiles]) {
    const payload = readFileSync(`${directory}/${file}`, 'utf8');
    const res = await sandbox.app.inject({ method: 'POST', url: '/fhir', headers: FHIR, payload });
    expect(res.statusCode, `${file}: ${res.body.slice(0, 300)}`).toBe(200);
    loaded.set(file, JSON.parse(payload) as Bundle);
  }
}, 300_000);

afterAll(async () => {
  await sandbox.close();
});

async function search(path: string): Promise<Bundle> {
  const res = await sandbox.app.inject({ method: 'GET', url: `/fhir/${path}` });
  expect(res.statusCode).toBe(200);
  return res.json<Bundle>();
}

describe('Synthea R4 transaction Bundles in the sandbox EHR', () => {
  it('loads every patient Bundle and finds one Patient per Bundle', async () => {
    // Two patients of one Synthea run (a cardiac case and a control) share the organisation and
    // practitioner Bundles, so a second patient must resolve to the same conditional targets.
    expect(patientFiles.length).toBeGreaterThanOrEqual(2);
    const patients = await search('Patient?_count=0');
    expect(patients.total).toBe(patientFiles.length);
  });

  it('finds each patient’s Observations by search, as many as the Bundle carried', async () => {
    for (const file of patientFiles) {
      const source = loaded.get(file);
      const sourcePatient = source?.entry?.find((e) => e.resource?.resourceType === 'Patient')?.resource as Patient;
      const expected = source?.entry?.filter((e) => e.resource?.resourceType === 'Observation').length ?? 0;
      const identifier = sourcePatient.identifier?.find((i) => i.system === 'https://github.com/synthetichealth/synthea');
      const found = await search(`Patient?identifier=${identifier?.system}|${identifier?.value}`);
      expect(found.total).toBe(1);
      const patient = found.entry?.[0]?.resource as Patient;
      const observations = await search(`Observation?subject=Patient/${patient.id}&_count=0`);
      expect(observations.total, file).toBe(expected);
    }
  });

  it('resolved the conditional references to organisations and practitioners', async () => {
    const encounters = await search('Encounter?_count=50');
    expect(encounters.entry?.length).toBeGreaterThan(0);
    for (const entry of encounters.entry ?? []) {
      const encounter = entry.resource as Encounter;
      const provider = encounter.serviceProvider?.reference ?? '';
      expect(provider).toMatch(/^Organization\/[\w-]+$/);
      const read = await sandbox.app.inject({ method: 'GET', url: `/fhir/${provider}` });
      expect(read.statusCode).toBe(200);
      for (const participant of encounter.participant ?? []) {
        expect(participant.individual?.reference ?? '').toMatch(/^Practitioner\/[\w-]+$/);
      }
    }
  });

  it('pages through all Observations with next links', async () => {
    const first = await search('Observation?_count=100');
    let seen = first.entry?.length ?? 0;
    let next = first.link?.find((l) => l.relation === 'next')?.url;
    while (next) {
      const page = await search(next.slice(next.indexOf('/fhir/') + '/fhir/'.length));
      seen += page.entry?.length ?? 0;
      next = page.link?.find((l) => l.relation === 'next')?.url;
    }
    expect(seen).toBe(first.total);
  });
});
