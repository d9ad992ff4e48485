import { describe, expect, it } from 'vitest';
import { createRng, generateCohort, generatePatient } from '../../../../src/sandbox/cohort/index.js';
import { ofType, testOptions } from './cohort-test-helpers.js';

describe('generatePatient / generateCohort', () => {
  it('is deterministic: same seed and clock give identical resources and DICOM bytes', () => {
    const options = testOptions({ patients: 4 });
    const first = [...generateCohort(options)];
    const second = [...generateCohort(options)];
    expect(JSON.stringify(second.map((p) => p.resources))).toBe(
      JSON.stringify(first.map((p) => p.resources)),
    );
    expect(second.flatMap((p) => p.dicom.map((d) => Buffer.from(d.bytes).toString('base64')))).toEqual(
      first.flatMap((p) => p.dicom.map((d) => Buffer.from(d.bytes).toString('base64'))),
    );
    const other = [...generateCohort({ ...options, seed: 43 })];
    expect(JSON.stringify(other.map((p) => p.resources))).not.toBe(
      JSON.stringify(first.map((p) => p.resources)),
    );
  });

  it('regenerates patient i alone exactly as inside the cohort', () => {
    const options = testOptions({ patients: 3 });
    const cohort = [...generateCohort(options)];
    const alone = generatePatient(2, options, createRng(options.seed, 3));
    expect(JSON.stringify(alone.resources)).toBe(JSON.stringify(cohort[2]?.resources));
  });

  it('puts Patient first, sets every id, and references the patient as Patient/{id}', () => {
    for (const p of generateCohort(testOptions({ patients: 5 }))) {
      expect(p.resources[0]?.resourceType).toBe('Patient');
      expect(p.resources[0]?.id).toBe(p.patientId);
      for (const r of p.resources) {
        expect(r.id).toMatch(/^[A-Za-z0-9\-.]{1,64}$/);
        const subject = (r as { subject?: { reference?: string } }).subject;
        if (subject) expect(subject.reference).toBe(`Patient/${p.patientId}`);
      }
      const ids = p.resources.map((r) => `${r.resourceType}/${r.id ?? ''}`);
      expect(new Set(ids).size).toBe(ids.length);
    }
  });

  it('keeps every timestamp within the 48 h before now', () => {
    const options = testOptions({ patients: 6 });
    const now = options.now?.getTime() ?? 0;
    for (const p of generateCohort(options)) {
      const times =
        JSON.stringify(p.resources).match(/"(effectiveDateTime|issued|started|start)":"([^"]+)"/g) ?? [];
      expect(times.length).toBeGreaterThan(5);
      for (const t of times) {
        const ms = Date.parse(t.split('":"')[1]?.replace('"', '') ?? '');
        expect(ms).toBeLessThanOrEqual(now);
        expect(ms).toBeGreaterThanOrEqual(now - 48 * 3600_000);
      }
    }
  });

  it('never writes the labels into FHIR resources', () => {
    for (const p of generateCohort(testOptions({ patients: 10, labelsOnly: true }))) {
      const json = JSON.stringify(p.resources);
      for (const key of ['acuteHeartFailure', 'atrialFibrillation', '"pneumonia"', 'labels', 'conditions'])
        expect(json).not.toContain(key);
      expect(p.resources.some((r) => r.resourceType === 'Condition')).toBe(false);
    }
  });

  it('leaves out whole modalities at the configured rates', () => {
    const all = [
      ...generateCohort(testOptions({ patients: 30, labelsOnly: true, rates: { image: 1, report: 1 } })),
    ];
    for (const p of all) {
      expect(ofType(p.resources, 'ImagingStudy')).toHaveLength(0);
      expect(ofType(p.resources, 'DiagnosticReport')).toHaveLength(0);
    }
    const none = [...generateCohort(testOptions({ patients: 4, rates: { image: 0, ecg: 0, report: 0 } }))];
    for (const p of none) {
      expect(p.dicom.map((d) => d.kind).sort()).toEqual(['chest-radiograph', 'ecg-waveform']);
      expect(ofType(p.resources, 'DiagnosticReport')).toHaveLength(2);
    }
  });

  it('codes vitals and labs with LOINC and UCUM, including alternative units and data errors', () => {
    const obs = [
      ...generateCohort(testOptions({ patients: 60, labelsOnly: true, rates: { dataError: 0.2 } })),
    ].flatMap((p) => ofType(p.resources, 'Observation'));
    const codes = new Set(obs.flatMap((o) => o.code.coding?.map((c) => c.code) ?? []));
    for (const code of [
      '8867-4',
      '9279-1',
      '59408-5',
      '2708-6',
      '85354-9',
      '8310-5',
      '33762-6',
      '89579-7',
      '6690-2',
      '1988-5',
      '2160-0',
      '14682-9',
      '2345-7',
      '14749-6',
      '2951-2',
      '2823-3',
      '2524-7',
    ])
      expect(codes).toContain(code);
    for (const o of obs) {
      const q = o.valueQuantity ?? o.component?.[0]?.valueQuantity;
      expect(q?.system).toBe('http://unitsofmeasure.org');
      expect(o.category?.[0]?.coding?.[0]?.code).toMatch(/^(vital-signs|laboratory)$/);
    }
    const hr = obs.filter((o) => o.code.coding?.[0]?.code === '8867-4').map((o) => o.valueQuantity?.value);
    expect(hr.some((v) => v === 0 || v === 999)).toBe(true);
    expect(obs.some((o) => o.valueQuantity?.code === '[degF]')).toBe(true);
    const bp = obs.find((o) => o.code.coding?.[0]?.code === '85354-9');
    expect(bp?.component?.map((c) => c.code.coding?.[0]?.code)).toEqual(['8480-6', '8462-4']);
    // Trends: some series have several measurements over time.
    const perPatientHr = new Map<string, number>();
    for (const o of obs)
      if (o.code.coding?.[0]?.code === '8867-4')
        perPatientHr.set(o.subject?.reference ?? '', (perPatientHr.get(o.subject?.reference ?? '') ?? 0) + 1);
    expect(Math.max(...perPatientHr.values())).toBeGreaterThanOrEqual(3);
  });

  it('points ImagingStudy at a dicom-wado-rs Endpoint with the configured base URL', () => {
    const [p] = [...generateCohort(testOptions({ patients: 1, rates: { image: 0 } }))];
    const study = ofType(p?.resources ?? [], 'ImagingStudy').find((s) => s.modality?.[0]?.code !== 'ECG');
    const endpoint = ofType(p?.resources ?? [], 'Endpoint')[0];
    expect(study?.endpoint?.[0]?.reference).toBe(`Endpoint/${endpoint?.id}`);
    expect(endpoint?.connectionType.code).toBe('dicom-wado-rs');
    expect(endpoint?.address).toBe('http://pacs.example.org/dicomweb');
    const image = p?.dicom.find((d) => d.kind === 'chest-radiograph');
    expect(study?.identifier?.[0]?.value).toBe(`urn:oid:${image?.studyInstanceUid}`);
    expect(study?.series?.[0]?.uid).toBe(image?.seriesInstanceUid);
    expect(study?.series?.[0]?.instance?.[0]?.uid).toBe(image?.sopInstanceUid);
    expect(['DX', 'CR']).toContain(study?.modality?.[0]?.code);
  });

  it('rejects out-of-range options naming the option', () => {
    expect(() => [...generateCohort(testOptions({ rates: { image: 2 } }))]).toThrow(/rates\.image/);
    expect(() => [...generateCohort(testOptions({ patients: -1 }))]).toThrow(/patients/);
  });
});
