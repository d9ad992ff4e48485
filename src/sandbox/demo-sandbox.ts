import { bulkExportPlugin } from './bulk-export/bulk-export-plugin.js';
import { dicomwebPlugin } from './dicomweb/dicomweb-plugin.js';
import { createDicomStore } from './dicomweb/dicom-store.js';
import { generateCohort } from './cohort/generate-patient.js';
import { loadCohort } from './cohort/load-cohort.js';
import type { HeldRadiograph } from './dimse/held-radiographs.js';
import { holdRadiograph } from './dimse/held-radiographs.js';
import { createSandboxEhr } from './ehr/sandbox-ehr.js';
import { smartAuthPlugin } from './smart/smart-auth-plugin.js';
import { createSmartAuthServer, type SmartAuthServer } from './smart/smart-auth-server.js';

/** The demo's clinician: who the review app's EHR launch signs in as (a Practitioner in the sandbox). */
const DEMO_CLINICIAN = { id: 'demo-clinician', name: [{ family: 'Demo', given: ['Clinician'] }] };

/** The sandbox as the demo (and end-to-end tests) run it. */
export interface DemoSandbox {
  fhirBaseUrl: string;
  dicomwebBaseUrl: string;
  patientIds: string[];
  /** With `holdRadiographs`: the chest radiographs kept out of the EHR and PACS, one per patient that has one. */
  heldRadiographs: HeldRadiograph[];
  /**
   * With `reviewApp`: an EHR launch of the review app for a patient (SMART App Launch §EHR launch:
   * the app's launch URL with `iss` and a fresh `launch`), as a chart's "open app" button makes it.
   */
  reviewAppLaunchUrl?: (patientId: string) => string;
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
  /**
   * Register fhir-fusion's review app (`launchUrl`, `redirectUri`) with the sandbox's SMART
   * authorization server, so the demo can open it from the "chart". Needs a fixed `port`: tokens
   * and launches carry the FHIR base URL. The FHIR API itself stays open, as without it.
   */
  reviewApp?: { clientId: string; launchUrl: string; redirectUri: string };
  onProgress?: (done: number, total: number) => void;
}): Promise<DemoSandbox> {
  const ehr = await createSandboxEhr({ logger: false });
  let auth: SmartAuthServer | undefined;
  if (options.reviewApp) {
    if (!options.port) throw new Error('the review app needs a fixed sandbox port');
    auth = await createSmartAuthServer({
      issuer: `http://${options.host ?? '127.0.0.1'}:${options.port}/fhir`,
      fhirPrefix: '/fhir',
      // A demo has no one to ask: the launch is approved at once (the consent page is the tests').
      autoApprove: true,
      clients: [
        {
          clientId: options.reviewApp.clientId,
          type: 'public',
          redirectUris: [options.reviewApp.redirectUri],
          scopes: [
            'launch',
            'launch/patient',
            'openid',
            'fhirUser',
            'patient/*.rus',
            'patient/Provenance.c',
            'user/DiagnosticReport.r',
            'user/Practitioner.r',
          ],
        },
      ],
      users: [{ id: 'demo-clinician', fhirUser: `Practitioner/${DEMO_CLINICIAN.id}` }],
    });
    await ehr.app.register(smartAuthPlugin, { ...auth.options, server: auth });
  }
  await ehr.app.register(dicomwebPlugin, { prefix: '/dicomweb', store: createDicomStore() });
  await ehr.app.register(bulkExportPlugin, { prefix: '/fhir', repo: ehr.repo });
  const fhirBaseUrl = await ehr.listen(options.port, options.host ?? '127.0.0.1');
  const dicomwebBaseUrl = `${new URL(fhirBaseUrl).origin}/dicomweb`;
  if (auth) {
    const put = await fetch(`${fhirBaseUrl}/Practitioner/${DEMO_CLINICIAN.id}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/fhir+json' },
      body: JSON.stringify({ resourceType: 'Practitioner', ...DEMO_CLINICIAN }),
    });
    if (!put.ok) throw new Error(`sandbox: could not create the demo clinician (HTTP ${put.status})`);
  }
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
    ...(auth && options.reviewApp
      ? {
          reviewAppLaunchUrl: (patientId: string) =>
            `${options.reviewApp!.launchUrl}?${new URLSearchParams({ iss: fhirBaseUrl, launch: auth!.createLaunch({ patient: patientId }) }).toString()}`,
        }
      : {}),
    close: () => ehr.close(),
  };
}
