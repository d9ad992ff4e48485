import { generateCohort } from '../../../src/sandbox/cohort/generate-patient.js';
import { bulkExportPlugin } from '../../../src/sandbox/bulk-export/bulk-export-plugin.js';
import type { SandboxEhr } from '../../../src/sandbox/ehr/sandbox-ehr.js';
import { createSandboxEhr } from '../../../src/sandbox/ehr/sandbox-ehr.js';

/** A sandbox EHR with `$export`, loaded with a cheap (labels-only) synthetic cohort. */
export interface BackfillSandbox {
  ehr: SandboxEhr;
  fhirBaseUrl: string;
  patientIds: string[];
}

/** Starts the sandbox and stores `patients` labels-only patients (no pixels, no waveforms). */
export async function startBackfillSandbox(patients: number, exportOptions: { minDurationMs?: number; linesPerFile?: number } = {}): Promise<BackfillSandbox> {
  const ehr = await createSandboxEhr({ logger: false });
  await ehr.app.register(bulkExportPlugin, { prefix: '/fhir', repo: ehr.repo, ...exportOptions });
  const fhirBaseUrl = await ehr.listen(0, '127.0.0.1');
  const dicomwebBaseUrl = `${new URL(fhirBaseUrl).origin}/dicomweb`;
  const patientIds: string[] = [];
  const cohort = generateCohort({ patients, seed: 11, dicomwebBaseUrl, now: new Date(), labelsOnly: true });
  // Straight into the store (resources are generated valid; ids and references set): loading
  // 1,000 patients over HTTP with per-write validation would dominate the test's time.
  await ehr.repo.withPrevalidatedWrites(async () => {
    for (const p of cohort) {
      patientIds.push(p.patientId);
      for (const resource of p.resources) await ehr.repo.updateResource(resource);
    }
  });
  return { ehr, fhirBaseUrl, patientIds };
}
