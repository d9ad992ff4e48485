// `npm run bench -- assembly [patients]`: FHIR round trips per patient for assembly (one batch
// Bundle + paging) against the naive approach (one request per resource type plus one per
// endpoint), on the synthetic cohort in the sandbox EHR, measured in one run.
import type { Bundle, ImagingStudy } from '@medplum/fhirtypes';
import { performance } from 'node:perf_hooks';
import { assemblePatient } from '../src/assembly/assemble-patient.js';
import { createEhrClient } from '../src/fhir/ehr-client.js';
import type { FetchLike } from '../src/contracts/fetch-like.js';
import { createAllowList, createOutboundFetch } from '../src/fhir/outbound-fetch.js';
import { startDemoSandbox } from '../src/sandbox/demo-sandbox.js';

const patients = Number(process.argv[2] ?? 40);
const sandbox = await startDemoSandbox({ port: 0, patients, seed: 11 });
const allowList = createAllowList([sandbox.fhirBaseUrl, sandbox.dicomwebBaseUrl]);
let requests = 0;
const counting: FetchLike = (input, init) => {
  requests++;
  return fetch(input, init);
};
const outbound = createOutboundFetch({ allowList, timeoutMs: 30_000, fetch: counting });
const client = createEhrClient({ fhirBaseUrl: sandbox.fhirBaseUrl, fetch: outbound });
const windows = { tabular: 72, text: 72, image: 72, ecg: 72 };

async function naive(patientId: string): Promise<number> {
  const before = requests;
  const subject = `Patient/${patientId}`;
  await client.readResource('Patient', patientId);
  for (const url of [`Observation?subject=${subject}&_count=20`, `DiagnosticReport?subject=${subject}&_count=20`, `ImagingStudy?subject=${subject}&_count=20`]) {
    let page: Bundle | undefined = await client.get<Bundle>(client.fhirUrl(...(url.split('?')[0] ?? '').split('/')).toString() + '?' + url.split('?')[1]);
    while (page) {
      for (const entry of page.entry ?? []) {
        const study = entry.resource as ImagingStudy | undefined;
        for (const ref of study?.resourceType === 'ImagingStudy' ? (study.endpoint ?? []) : []) await client.readReference(ref);
      }
      const next: string | undefined = page.link?.find((l) => l.relation === 'next')?.url;
      page = next ? await client.get<Bundle>(next) : undefined;
    }
  }
  return requests - before;
}

let batched = 0;
let naiveTotal = 0;
let batchedMs = 0;
let naiveMs = 0;
for (const id of sandbox.patientIds) {
  let t = performance.now();
  const record = await assemblePatient(id, {
    client,
    windows,
    image: { modalities: [] }, // FHIR round trips only: no WADO-RS in this count
    dicom: { fetch: outbound, allowList, maxBytes: 64 << 20 },
    asOf: new Date(),
  });
  batchedMs += performance.now() - t;
  batched += record.roundTrips;
  t = performance.now();
  naiveTotal += await naive(id);
  naiveMs += performance.now() - t;
}
await sandbox.close();
const n = sandbox.patientIds.length;
console.log(`\nFHIR round trips per patient (${n} synthetic patients, sandbox EHR, default page size 20):\n`);
console.log('| approach | round trips / patient | ms / patient |');
console.log('| --- | ---: | ---: |');
console.log(`| one batch Bundle + paging (fhir-fusion) | ${(batched / n).toFixed(2)} | ${(batchedMs / n).toFixed(1)} |`);
console.log(`| one request per resource type + per endpoint, paged at 20 | ${(naiveTotal / n).toFixed(2)} | ${(naiveMs / n).toFixed(1)} |`);
console.log(`\nratio: ${(naiveTotal / batched).toFixed(1)}× fewer round trips`);
