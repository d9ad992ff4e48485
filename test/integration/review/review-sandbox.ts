import type { Practitioner } from '@medplum/fhirtypes';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signingKeyFrom, type SigningKey } from '../../../src/fhir/jwks.js';
import { createEhrClient } from '../../../src/fhir/ehr-client.js';
import { createSmartBackendAuth } from '../../../src/fhir/smart-backend-client.js';
import { syncSubscriptions } from '../../../src/subscriptions/subscription-sync.js';
import { startServer, type RunningServer } from '../../../src/main.js';
import { generateCohort } from '../../../src/sandbox/cohort/generate-patient.js';
import { loadCohort } from '../../../src/sandbox/cohort/load-cohort.js';
import { createDicomStore } from '../../../src/sandbox/dicomweb/dicom-store.js';
import { dicomwebPlugin } from '../../../src/sandbox/dicomweb/dicomweb-plugin.js';
import { createSandboxEhr, type SandboxEhr } from '../../../src/sandbox/ehr/sandbox-ehr.js';
import { smartAuthorizer } from '../../../src/sandbox/smart/require-smart-token.js';
import { smartAuthPlugin } from '../../../src/sandbox/smart/smart-auth-plugin.js';
import { createSmartAuthServer, type SmartAuthServer } from '../../../src/sandbox/smart/smart-auth-server.js';
import { testConfig } from '../../helpers/test-config.js';
import { freePorts } from '../../helpers/free-port.js';


async function ecKeyPem(): Promise<string> {
  return generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
}

/** Everything a review-app test needs: the sandbox EHR behind SMART, fhir-fusion, a loaded cohort. */
export interface ReviewSandbox {
  ehr: SandboxEhr;
  auth: SmartAuthServer;
  server: RunningServer;
  fhirBaseUrl: string;
  patientIds: string[];
  practitionerId: string;
  /** A system-scoped client for test set-up and assertions (not the one fhir-fusion uses). */
  admin: ReturnType<typeof createEhrClient>;
  /** Token requests fhir-fusion's Backend Services client made (client_id per request). */
  backendTokenRequests: string[];
  /** Bearer-authenticated FHIR requests made with fhir-fusion's backend token (path only). */
  backendFhirRequests: string[];
  close(): Promise<void>;
}

/** Client ids registered with the sandbox authorization server. */
export const CLIENTS = { fusion: 'fhir-fusion', review: 'fhir-fusion-review', admin: 'test-admin' } as const;

/**
 * Starts the sandbox EHR with its SMART authorization server guarding every FHIR request
 * (`smartAuthorizer`), its DICOMweb, and fhir-fusion configured with
 * `FHIR_AUTH=smart-backend-services` and the review app; loads `patients` synthetic patients and
 * subscribes, so fhir-fusion assesses them.
 */
export async function startReviewSandbox(input: {
  databaseUrl: string;
  patients: number;
  seed: number;
  autoApprove?: boolean;
  /** ACTIVE_MODELS (default `late-fusion@1`). */
  models?: string;
  /** Further fhir-fusion settings (e.g. CDS_HOOKS_CLIENTS). */
  settings?: Record<string, string>;
  /** Host name of fhir-fusion's PUBLIC_URL (default 127.0.0.1; `localhost` puts it on another site than the EHR). */
  publicHost?: string;
}): Promise<ReviewSandbox> {
  const [ehrPort = 0, fusionPort = 0] = await freePorts(2);
  const fhirBaseUrl = `http://127.0.0.1:${ehrPort}/fhir`;
  const fusionUrl = `http://${input.publicHost ?? '127.0.0.1'}:${fusionPort}`;
  const keyDir = await mkdtemp(join(tmpdir(), 'review-keys-'));
  const previousPem = await ecKeyPem();
  const currentPem = await ecKeyPem();
  await writeFile(join(keyDir, 'previous.pem'), previousPem, { mode: 0o600 });
  await writeFile(join(keyDir, 'current.pem'), currentPem, { mode: 0o600 });
  const fusionKey: SigningKey = await signingKeyFrom(currentPem);
  const adminKey: SigningKey = await signingKeyFrom(await ecKeyPem());
  const practitionerId = 'dr-review';
  const auth = await createSmartAuthServer({
    issuer: fhirBaseUrl,
    fhirPrefix: '/fhir',
    autoApprove: input.autoApprove ?? false,
    clients: [
      {
        clientId: CLIENTS.fusion,
        type: 'confidential',
        redirectUris: [],
        jwks: { keys: [fusionKey.publicJwk] },
        scopes: ['system/*.rs', 'system/RiskAssessment.cu', 'system/Provenance.cu', 'system/Device.cu', 'system/DocumentReference.cu'],
      },
      {
        clientId: CLIENTS.admin,
        type: 'confidential',
        redirectUris: [],
        jwks: { keys: [adminKey.publicJwk] },
        scopes: ['system/*.cruds'],
      },
      {
        clientId: CLIENTS.review,
        type: 'public',
        redirectUris: [`${fusionUrl}/review/callback`],
        scopes: ['launch', 'launch/patient', 'openid', 'fhirUser', 'patient/*.rs', 'patient/Provenance.c', 'patient/Device.r', 'patient/DocumentReference.r', 'user/DiagnosticReport.r', 'user/Practitioner.r'],
      },
    ],
    users: [{ id: 'dr-review-login', fhirUser: `Practitioner/${practitionerId}` }],
  });
  const backendTokenRequests: string[] = [];
  const backendFhirRequests: string[] = [];
  const late: { repo?: SandboxEhr['repo'] } = {};
  const authorize = smartAuthorizer({ verifyAccessToken: (t) => auth.verifyAccessToken(t), fhirPrefix: '/fhir', patientOf: (type, id) => late.repo?.patientOf(type, id) });
  const ehr: SandboxEhr = await createSandboxEhr({
    logger: false,
    authorize: async (request) => {
      await authorize(request);
      if (request.smartToken?.client_id === CLIENTS.fusion) backendFhirRequests.push(request.url.split('?')[0] ?? '');
    },
  });
  late.repo = ehr.repo;
  ehr.app.addHook('preHandler', async (request) => {
    if (request.url.startsWith('/auth/token')) {
      const body = (request.body ?? {}) as Record<string, unknown>;
      const assertion = typeof body.client_assertion === 'string' ? body.client_assertion : '';
      const payload = assertion.split('.')[1];
      if (payload) {
        const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { iss?: string };
        backendTokenRequests.push(claims.iss ?? '');
      }
    }
  });
  await ehr.app.register(smartAuthPlugin, { ...auth.options, server: auth });
  await ehr.app.register(dicomwebPlugin, { prefix: '/dicomweb', store: createDicomStore() });
  await ehr.listen(ehrPort, '127.0.0.1');
  const dicomwebBaseUrl = `http://127.0.0.1:${ehrPort}/dicomweb`;

  const adminAuth = createSmartBackendAuth({
    fhirBaseUrl,
    clientId: CLIENTS.admin,
    privateKey: adminKey.key,
    kid: adminKey.kid,
    alg: adminKey.alg,
    scopes: ['system/*.cruds'],
  });
  const adminFetch: typeof fetch = async (url, init) => {
    const headers = new Headers(init?.headers);
    headers.set('authorization', `Bearer ${await adminAuth.getAccessToken()}`);
    return fetch(url, { ...init, headers });
  };
  const admin = createEhrClient({ fhirBaseUrl, fetch: adminFetch });
  await admin.updateResource<Practitioner>({
    resourceType: 'Practitioner',
    id: practitionerId,
    name: [{ family: 'Review', given: ['Dana'], prefix: ['Dr'] }],
  });

  const server = await startServer(
    testConfig({
      DATABASE_URL: input.databaseUrl,
      PORT: String(fusionPort),
      PUBLIC_URL: fusionUrl,
      FHIR_BASE_URL: fhirBaseUrl,
      DICOMWEB_BASE_URL: dicomwebBaseUrl,
      FHIR_AUTH: 'smart-backend-services',
      SMART_CLIENT_ID: CLIENTS.fusion,
      SMART_PRIVATE_KEY_FILE: join(keyDir, 'current.pem'),
      SMART_PREVIOUS_PRIVATE_KEY_FILE: join(keyDir, 'previous.pem'),
      SMART_SCOPES: 'system/*.rs system/RiskAssessment.cu system/Provenance.cu system/Device.cu system/DocumentReference.cu',
      SMART_APP_CLIENT_ID: CLIENTS.review,
      SMART_APP_ISSUERS: fhirBaseUrl,
      // One multimodal model keeps start-up short; the page shows what any fusion model wrote.
      ACTIVE_MODELS: input.models ?? 'late-fusion@1',
      ...input.settings,
    }),
  );
  await syncSubscriptions({ client: admin, pool: server.runtime.pool, publicUrl: server.url });
  const patientIds: string[] = [];
  const cohort = generateCohort({ patients: input.patients, seed: input.seed, dicomwebBaseUrl, now: new Date(), imageSize: 256, rates: { image: 0, ecg: 0, report: 0, dataError: 0 } });
  await loadCohort({
    generator: (function* () {
      for (const patient of cohort) {
        patientIds.push(patient.patientId);
        yield patient;
      }
    })(),
    fhirBaseUrl,
    dicomwebBaseUrl,
    headers: { authorization: `Bearer ${await adminAuth.getAccessToken()}` },
  });
  return {
    ehr,
    auth,
    server,
    fhirBaseUrl,
    patientIds,
    practitionerId,
    admin,
    backendTokenRequests,
    backendFhirRequests,
    async close() {
      await server.stop();
      await ehr.close();
      await rm(keyDir, { recursive: true, force: true });
    },
  };
}

/** Polls until `probe` yields a value. */
export async function waitFor<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}
