/**
 * Cohort generation throughput: generates N patients (default 1,000) with every modality
 * (FHIR resources, 12-lead ECG as FHIR SampledData and DICOM, chest radiograph DICOM) in memory
 * and prints seconds and patients per second. Target: under 60 s for 1,000 on 2 cores.
 *
 * Run: `npx tsx bench/cohort-generate.ts [patients] [imageSize]`
 */
import { generateCohort } from '../src/sandbox/cohort/index.js';

const patients = Number(process.argv[2] ?? 1000);
const imageSize = Number(process.argv[3] ?? 512);
const started = performance.now();
const cpuStart = process.cpuUsage();
let resources = 0;
let dicomBytes = 0;
let dicomFiles = 0;
for (const p of generateCohort({
  patients,
  seed: 1,
  now: new Date('2026-01-15T12:00:00Z'),
  dicomwebBaseUrl: 'http://localhost/dicomweb',
  imageSize,
})) {
  resources += p.resources.length;
  for (const d of p.dicom) {
    dicomBytes += d.bytes.byteLength;
    dicomFiles++;
  }
}
const seconds = (performance.now() - started) / 1000;
const cpu = process.cpuUsage(cpuStart);
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
process.stdout.write(
  `cohort-generate: ${patients} patients, imageSize ${imageSize}, ${resources} FHIR resources, ${dicomFiles} DICOM files (${(dicomBytes / 1e6).toFixed(1)} MB)\n` +
    `seconds ${seconds.toFixed(2)}  patients/second ${(patients / seconds).toFixed(1)}  cpu-seconds ${cpuSeconds.toFixed(2)} (wall time is inflated when other processes share the cores)\n`,
);
