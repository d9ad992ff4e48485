import type { Logger } from 'pino';
import type { SandboxEhr } from './ehr/sandbox-ehr.js';
import { createSandboxEhr } from './ehr/sandbox-ehr.js';
import type { FhirDefinitions } from './ehr/fhir-definitions.js';
import type { RetryPolicy } from './ehr/subscriptions/retry-policy.js';
import { dicomwebPlugin } from './dicomweb/dicomweb-plugin.js';
import type { DicomStore } from './dicomweb/dicom-store.js';
import { createDicomStore } from './dicomweb/dicom-store.js';
import { smartAuthPlugin } from './smart/smart-auth-plugin.js';
import { createSmartAuthServer } from './smart/smart-auth-server.js';
import type { SmartAuthServer } from './smart/smart-auth-server.js';
import type { SmartAuthOptions } from './smart/smart-types.js';
import { smartAuthorizer } from './smart/require-smart-token.js';
import { withoutTrailingSlash } from '../contracts/base-url.js';

/** Options of {@link startSandboxServer}. */
export interface SandboxServerOptions {
  /** TCP port. Must be fixed (not 0) when `smart` is set, because tokens carry the base URL. */
  port: number;
  /** Interface to bind (default 127.0.0.1). */
  host?: string;
  /** Origin clients use, e.g. `http://localhost:8080` (default `http://{host}:{port}`). */
  publicOrigin?: string;
  logger?: Logger | false;
  /** When set, the FHIR API requires SMART access tokens from the sandbox authorization server. */
  smart?: Omit<SmartAuthOptions, 'issuer' | 'fhirPrefix'>;
  /** DICOMweb at `/dicomweb` (default on, with a fresh in-memory store); `false` leaves it out. */
  dicomweb?: { store?: DicomStore } | false;
  definitions?: FhirDefinitions;
  retry?: Partial<RetryPolicy>;
}

/** The running sandbox: EHR (FHIR R4 + subscriptions), optional SMART server and DICOMweb. */
export interface SandboxServer {
  ehr: SandboxEhr;
  /** e.g. `http://127.0.0.1:8080/fhir`. */
  fhirBaseUrl: string;
  /** e.g. `http://127.0.0.1:8080/dicomweb`, when DICOMweb is on. */
  dicomwebBaseUrl?: string;
  /** The SMART authorization server, when `smart` was given (issue launches, verify tokens). */
  smart?: SmartAuthServer;
  close(): Promise<void>;
}

const FHIR_PREFIX = '/fhir';
const DICOMWEB_PREFIX = '/dicomweb';

/**
 * Starts the whole sandbox on one port: the FHIR R4 EHR at `/fhir`, the SMART App Launch 2
 * authorization server (`/fhir/.well-known/smart-configuration`, `/auth/*`) when `smart` is given,
 * and DICOMweb at `/dicomweb`. A demo and test fixture only; the pipeline never imports it.
 */
export async function startSandboxServer(options: SandboxServerOptions): Promise<SandboxServer> {
  const host = options.host ?? '127.0.0.1';
  if (options.smart && options.port === 0 && !options.publicOrigin) {
    throw new RangeError('startSandboxServer: SMART needs a fixed port or publicOrigin (tokens name the FHIR base URL)');
  }
  const origin = withoutTrailingSlash(options.publicOrigin ?? `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${options.port}`);
  const smart = options.smart
    ? await createSmartAuthServer({ ...options.smart, issuer: `${origin}${FHIR_PREFIX}`, fhirPrefix: FHIR_PREFIX })
    : undefined;
  // The authorizer checks reads by id against the stored resource's patient; the repository it
  // asks exists once the EHR does.
  const late: { repo?: SandboxEhr['repo'] } = {};
  const ehr: SandboxEhr = await createSandboxEhr({
    ...(options.logger !== undefined ? { logger: options.logger } : {}),
    ...(options.definitions ? { definitions: options.definitions } : {}),
    ...(options.retry ? { retry: options.retry } : {}),
    ...(options.publicOrigin ? { publicBaseUrl: `${origin}${FHIR_PREFIX}` } : {}),
    fhirPrefix: FHIR_PREFIX,
    ...(smart
      ? {
          authorize: smartAuthorizer({
            verifyAccessToken: (token) => smart.verifyAccessToken(token),
            fhirPrefix: FHIR_PREFIX,
            patientOf: (type, id) => late.repo?.patientOf(type, id),
          }),
        }
      : {}),
  });
  late.repo = ehr.repo;
  try {
    if (smart) await ehr.app.register(smartAuthPlugin, { ...smart.options, server: smart });
    if (options.dicomweb !== false) {
      await ehr.app.register(dicomwebPlugin, {
        prefix: DICOMWEB_PREFIX,
        store: options.dicomweb?.store ?? createDicomStore(),
        ...(options.publicOrigin ? { publicBaseUrl: `${origin}${DICOMWEB_PREFIX}` } : {}),
      });
    }
    const fhirBaseUrl = options.publicOrigin ? `${origin}${FHIR_PREFIX}` : await ehr.listen(options.port, host);
    if (options.publicOrigin) await ehr.listen(options.port, host);
    return {
      ehr,
      fhirBaseUrl,
      ...(options.dicomweb !== false ? { dicomwebBaseUrl: `${new URL(fhirBaseUrl).origin}${DICOMWEB_PREFIX}` } : {}),
      ...(smart ? { smart } : {}),
      close: () => ehr.close(),
    };
  } catch (err) {
    await ehr.close();
    throw err;
  }
}
