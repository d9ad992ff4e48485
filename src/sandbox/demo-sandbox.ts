import { bulkExportPlugin } from './bulk-export/bulk-export-plugin.js';
import { dicomwebPlugin } from './dicomweb/dicomweb-plugin.js';
import { createDicomStore } from './dicomweb/dicom-store.js';
import { generateCohort } from './cohort/generate-patient.js';
import { loadCohort } from './cohort/load-cohort.js';
import type { HeldRadiograph } from './dimse/held-radiographs.js';
import { holdRadiograph } from './dimse/held-radiographs.js';
import { createSandboxEhr } from './ehr/sandbox-ehr.js';

/** The sandbox as the demo (and end-to-end tests) run it. */
export interface DemoSandbox {
  fhirBaseUrl: string;
  dicomwebBaseUrl: string;
  patientIds: string[];
  /** With `holdRadiographs`: the chest radiographs kept out of the EHR and PACS, one per patient that has one. */
  heldRadiographs: HeldRadiograph[];
  close(): Promise<void>;
}

/**
 * The radiograph size the reference image models were trained on (`imageSize: 128` in
 * models/training/export-features.ts). The generator adds detector noise per pixel, so a larger
 * source downsampled to the model's 64×64 is smoother than anything in training, and the image
 * out-of-distribution detector rightly refuses it: with the generator's 512-pixel default the demo
 * would assess every patient without the radiograph. README "Known gaps" says so.
 */
export const REFERENCE_RADIOGRAPH_SIZE = 128;

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
  /**
   * Keep the chest radiographs (and their ImagingStudy) out, for the sandbox's C-STORE SCU to push
   * through the DICOM DIMSE door (`demo --feed dimse`).
   */
  holdRadiographs?: boolean;
  /** Radiograph edge in pixels; default {@link REFERENCE_RADIOGRAPH_SIZE}. */
  imageSize?: number;
  onProgress?: (done: number, total: number) => void;
}): Promise<DemoSandbox> {
  const ehr = await createSandboxEhr({ logger: false });
  await ehr.app.register(dicomwebPlugin, { prefix: '/dicomweb', store: createDicomStore() });
  await ehr.app.register(bulkExportPlugin, { prefix: '/fhir', repo: ehr.repo });
  const fhirBaseUrl = await ehr.listen(options.port, options.host ?? '127.0.0.1');
  const dicomwebBaseUrl = `${new URL(fhirBaseUrl).origin}/dicomweb`;
  const patientIds: string[] = [];
  const heldRadiographs: HeldRadiograph[] = [];
  const cohort = generateCohort({
    patients: options.patients,
    seed: options.seed,
    dicomwebBaseUrl,
    now: new Date(),
    imageSize: options.imageSize ?? REFERENCE_RADIOGRAPH_SIZE,
  });
  await loadCohort({
    generator: (function* () {
      for (const generated of cohort) {
        patientIds.push(generated.patientId);
        if (!options.holdRadiographs) {
          yield generated;
          continue;
        }
        const { patient, radiograph } = holdRadiograph(generated);
        if (radiograph) heldRadiographs.push(radiograph);
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
    heldRadiographs,
    close: () => ehr.close(),
  };
}
