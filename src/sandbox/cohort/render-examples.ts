/**
 * Writes the README's example renders, `docs/images/chest-radiograph.png` and
 * `docs/images/ecg-12-lead.png`, from a fixed-seed synthetic patient with heart failure (for the
 * radiograph) and one with atrial fibrillation (for the ECG).
 *
 * Run: `npx tsx src/sandbox/cohort/render-examples.ts [outDir]`
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Observation } from '@medplum/fhirtypes';
import { loadDcmjs } from './dcmjs-api.js';
import { generatePatient } from './generate-patient.js';
import { renderEcgPng } from './render-ecg-png.js';
import { renderRadiographPng } from './render-radiograph-png.js';
import { createRng } from './seeded-random.js';

const outDir = resolve(process.argv[2] ?? 'docs/images');
mkdirSync(outDir, { recursive: true });
const dcmjs = loadDcmjs();
const options = {
  patients: 400,
  seed: 2026,
  now: new Date('2026-01-15T12:00:00Z'),
  dicomwebBaseUrl: 'http://localhost:8080/dicomweb',
  rates: { image: 0, ecg: 0, report: 0 },
};
let radiographDone = false;
let ecgDone = false;
for (let i = 0; i < options.patients && !(radiographDone && ecgDone); i++) {
  const p = generatePatient(i, options, createRng(options.seed, i + 1), dcmjs);
  const c = p.labels.conditions;
  const image = p.dicom.find((d) => d.kind === 'chest-radiograph');
  // A heart-failure film that shows what the generator draws: cardiomegaly and an effusion.
  const conclusion = p.resources.find(
    (r) => r.resourceType === 'DiagnosticReport' && r.category?.[0]?.coding?.[0]?.code === 'RAD',
  );
  const text = conclusion?.resourceType === 'DiagnosticReport' ? (conclusion.conclusion ?? '') : '';
  if (
    !radiographDone &&
    c.acuteHeartFailure &&
    !c.pneumonia &&
    image &&
    text.includes('Cardiomegaly') &&
    /effusion/.test(text)
  ) {
    writeFileSync(join(outDir, 'chest-radiograph.png'), renderRadiographPng(image.bytes, dcmjs));
    radiographDone = true;
  }
  const ecg = p.resources.find(
    (r): r is Observation => r.resourceType === 'Observation' && r.code.coding?.[0]?.code === '11524-6',
  );
  if (!ecgDone && c.atrialFibrillation && ecg) {
    writeFileSync(join(outDir, 'ecg-12-lead.png'), renderEcgPng(ecg));
    ecgDone = true;
  }
}
if (!radiographDone || !ecgDone) {
  process.stderr.write(
    `no suitable example patient found (radiograph: ${radiographDone}, ECG: ${ecgDone})\n`,
  );
  process.exitCode = 1;
} else {
  process.stdout.write(
    `wrote ${join(outDir, 'chest-radiograph.png')} and ${join(outDir, 'ecg-12-lead.png')}\n`,
  );
}
