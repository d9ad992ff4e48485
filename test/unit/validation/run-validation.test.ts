import type { Resource } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import type { PatientRecord } from '../../../src/contracts/patient-record.js';
import type { ServedModel } from '../../../src/contracts/served-model.js';
import { createLogger } from '../../../src/observability/create-logger.js';
import { runValidation } from '../../../src/validation/run-validation.js';
import type { ValidationDeps } from '../../../src/validation/run-validation.js';

const BASE = 'http://ehr.test/fhir';
const HF = { system: 'http://snomed.info/sct', code: '56675007', display: 'Acute heart failure' };
const AS_OF = new Date('2026-01-10T00:00:00Z');

function patient(id: string): Resource[] {
  return [{ resourceType: 'Patient', id, gender: 'female', birthDate: '1950-05-01' }];
}

function dx(id: string, recordedDate: string): Resource {
  return {
    resourceType: 'Condition',
    id: `${id}-dx`,
    subject: { reference: `Patient/${id}` },
    code: { coding: [HF] },
    recordedDate,
  };
}

/** A Bulk Data server in a function: kick-off 202 → status 200 → one NDJSON file. */
function bulkFetch(resources: Resource[]): ValidationDeps['fetch'] {
  return async (input) => {
    const url = String(input);
    if (url.includes('$export'))
      return new Response(null, { status: 202, headers: { 'content-location': `${BASE}/status/1` } });
    if (url.endsWith('/status/1')) {
      return Response.json({
        transactionTime: '2026-02-09T00:00:00Z',
        request: url,
        output: [{ type: 'All', url: `${BASE}/file/1` }],
      });
    }
    return new Response(resources.map((r) => JSON.stringify(r)).join('\n'));
  };
}

const model = {
  manifest: {
    name: 'm',
    version: '1',
    outcomes: [{ index: 0, coding: HF, thresholds: [] }],
    applicability: { requires: [] },
  },
  sha256: 'x',
} as unknown as ServedModel;

describe('runValidation', () => {
  it('labels, scores and counts every patient: one failing assembly and one failing prediction are abstentions, not a crash', async () => {
    const resources = [
      ...patient('a'),
      dx('a', '2026-01-12T00:00:00Z'),
      ...patient('b'),
      ...patient('c'),
      dx('c', '2026-01-01T00:00:00Z'),
      ...patient('d'),
      ...patient('bad-assembly'),
      ...patient('bad-predict'),
    ];
    const probabilities: Record<string, number> = { a: 0.8, b: 0.3, c: 0.9, d: 0.1, 'bad-predict': 0.5 };
    const deps: ValidationDeps = {
      fetch: bulkFetch(resources),
      logger: createLogger({ level: 'silent' }),
      models: [model],
      sleep: async () => {},
      assemble: async (r) => {
        if (r.patient.id === 'bad-assembly') throw new TypeError('cannot read');
        return { patient: r.patient, modalities: {}, asOf: AS_OF.toISOString() } as unknown as PatientRecord;
      },
      predict: async (record) => {
        const id = record.patient.id ?? '';
        if (id === 'bad-predict') throw new RangeError('tensor');
        return {
          output: {
            predictions: [{ outcomeIndex: 0, probability: probabilities[id]!, qualitativeRisk: 'low' }],
            modalityContributions: [],
            featureContributions: [],
            executionProvider: 'cpu',
          },
          basis: [],
          missing: [],
        };
      },
    };
    const report = await runValidation(deps, {
      fhirBaseUrl: BASE,
      export: { level: 'system' },
      outcomes: [],
      window: { days: 30 },
    });
    // Default assessment time: the export's transactionTime minus the 30-day window.
    expect(report.asOf).toBe(AS_OF.toISOString());
    expect(report.patients.exported).toBe(6);
    const [m] = report.models;
    expect(m!.assessed).toBe(4);
    expect(m!.abstained).toEqual({ 'assembly failed: TypeError': 1, 'scoring failed: RangeError': 1 });
    const [o] = m!.outcomes;
    expect(o!.prevalentExcluded).toBe(1);
    // a (positive, 0.8), b (0.3) and d (0.1) negative: sorted by patient id.
    expect(o!.cases).toEqual([
      { label: 1, probability: 0.8 },
      { label: 0, probability: 0.3 },
      { label: 0, probability: 0.1 },
    ]);
    expect(o!.overall.auroc.value).toBe(1);
    expect(Object.keys(o!.subgroups)).toEqual(['age 65–79', 'sex female']);
  });
});
