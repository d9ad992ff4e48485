import { bulkExportPlugin } from './bulk-export/bulk-export-plugin.js';
import { dicomwebPlugin } from './dicomweb/dicomweb-plugin.js';
import { createDicomStore } from './dicomweb/dicom-store.js';
import { generateCohort } from './cohort/generate-patient.js';
import { loadCohort } from './cohort/load-cohort.js';
import { createSandboxEhr } from './ehr/sandbox-ehr.js';

/** The sandbox as the demo (and end-to-end tests) run it. */
export interface DemoSandbox {
  fhirBaseUrl: string;
  dicomwebBaseUrl: string;
  patientIds: string[];
  close(): Promise<void>;
}

/**
 * Starts the sandbox EHR with its DICOMweb service on one port and loads a synthetic cohort into
 * it over HTTP (FHIR transaction Bundles and STOW-RS), the same way `fhir-fusion cohort load`
 * loads any FHIR server and PACS. Demo and test fixture only.
 */
export async function startDemoSandbox(options: {
  port: number;
  patients: number;
  seed: number;
  host?: string;
  onProgress?: (done: number, total: number) => void;
}): Promise<DemoSandbox> {
  const ehr = await createSandboxEhr({ logger: false });
  await ehr.app.register(dicomwebPlugin, { prefix: '/dicomweb', store: createDicomStore() });
  await ehr.app.register(bulkExportPlugin, { prefix: '/fhir', repo: ehr.repo });
  const fhirBaseUrl = await ehr.listen(options.port, options.host ?? '127.0.0.1');
  const dicomwebBaseUrl = `${new URL(fhirBaseUrl).origin}/dicomweb`;
  const patientIds: string[] = [];
  const cohort = generateCohort({ patients: options.patients, seed: options.seed, dicomwebBaseUrl, now: new Date() });
  await loadCohort({
    generator: (function* () {
      for (const patient of cohort) {
        patientIds.push(patient.patientId);
        yield patient;
      }
    })(),
    fhirBaseUrl,
    dicomwebBaseUrl,
    onProgress: (p) => {
      if (p.phase === 'fhir') options.onProgress?.(p.done, options.patients);
    },
  });
  return {
    fhirBaseUrl,
    dicomwebBaseUrl,
    patientIds,
    close: () => ehr.close(),
  };
}
