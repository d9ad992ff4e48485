import { startDemoSandbox } from '../sandbox/demo-sandbox.js';

/** Options of `fhir-fusion sandbox`. */
export interface SandboxOptions {
  host: string;
  port: number;
  patients: number;
  seed: number;
}

/**
 * `fhir-fusion sandbox`: the demo's sandbox EHR (FHIR R4 with subscriptions, SMART, DICOMweb) on
 * its own, loaded with a small synthetic cohort, until SIGINT/SIGTERM. It stands in for the EHR
 * when fhir-fusion runs elsewhere — in a container (`npm run container:smoke`, issue 24) or on
 * another host — and is wired to it by configuration alone (`FHIR_BASE_URL`, `DICOMWEB_BASE_URL`).
 * Prints one line `FHIR_BASE_URL=… DICOMWEB_BASE_URL=…` once loaded, for scripts to read.
 * Demo and test fixture only: synthetic data, no authentication on its FHIR endpoint.
 */
export async function sandboxCommand(options: SandboxOptions): Promise<number> {
  const sandbox = await startDemoSandbox({
    host: options.host,
    port: options.port,
    patients: options.patients,
    seed: options.seed,
  });
  // Counts only: even synthetic patient ids stay out of the output (CONTRIBUTING, logs).
  console.log(
    `sandbox EHR loaded with ${sandbox.patientIds.length} synthetic patients — not for clinical use`,
  );
  console.log(`FHIR_BASE_URL=${sandbox.fhirBaseUrl} DICOMWEB_BASE_URL=${sandbox.dicomwebBaseUrl}`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await sandbox.close();
  return 0;
}
