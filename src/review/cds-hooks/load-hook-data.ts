import type { Bundle, OperationOutcome, Patient, Resource } from '@medplum/fhirtypes';
import { outcome } from '../../fhir/operation-outcome.js';
import type { FetchLike } from '../../contracts/fetch-like.js';
import { AIAST } from '../../contracts/fusion-terminology.js';
import type { HookRequest } from './cds-hooks-types.js';
import { PREFETCH_KEYS } from './cds-service-definitions.js';
import { withoutTrailingSlash } from '../../contracts/base-url.js';
import { err, type Result } from '../../contracts/result.js';

/** The data a card is built from. */
export interface HookData {
  /** The patient, when prefetched (it is not fetched: no card needs it beyond an id check). */
  patient?: Patient;
  /** RiskAssessments (and whatever else the search returned) for the patient. */
  assessments: Resource[];
  /** Where they came from, for metrics and tests. */
  source: 'prefetch' | 'fhir-server' | 'own-ehr';
}

/** Loading result: 412 (CDS Hooks 2.0 §Prefetch "412 Precondition Failed") or 400 on bad prefetch. */
export type HookDataResult = Result<HookData, { status: 400 | 412; issue: OperationOutcome }>;

/** How the service reaches FHIR servers when prefetch is incomplete. */
export interface HookDataSources {
  /** Fetch used with the client's `fhirAuthorization` token (timeouts, no credentials of ours). */
  clientFetch: FetchLike;
  /** Fetch to our own EHR with our own credentials (SMART Backend Services / bearer). */
  ownFetch: FetchLike;
  /** Our EHR's FHIR base URL: used with our credentials when the client sends no authorization. */
  ownFhirBaseUrl: string;
  /**
   * FHIR bases the service will call for a client (guards against SSRF through `fhirServer`).
   * Prefetched data is used from any client.
   */
  allowedFhirServers: readonly string[];
  /**
   * Also search the patient's preliminary AI drafts when they were not prefetched (issue #20): on
   * when a drafting model is configured, so a server that drafts nothing costs the EHR nothing more.
   */
  searchDrafts?: boolean;
}

/** The resources of a searchset Bundle (anything else: none). */
function bundleResources(bundle: unknown): Resource[] {
  if (!bundle || (bundle as Bundle).resourceType !== 'Bundle') return [];
  return ((bundle as Bundle).entry ?? []).flatMap((e) => (e.resource ? [e.resource] : []));
}

/** The preliminary AI drafts search (issue #20), as the `drafts` prefetch template says. */
function draftsQuery(patientId: string): string {
  return `DiagnosticReport?patient=${encodeURIComponent(patientId)}&_security=${encodeURIComponent(`${AIAST.system}|${AIAST.code}`)}&status=preliminary&_count=5`;
}

/** Drafts awaiting review only add a line to the card: a failed search leaves it out, never the card. */
async function searchDrafts(fetchFn: FetchLike, url: string, headers: Record<string, string>): Promise<Resource[]> {
  try {
    const response = await fetchFn(url, { headers });
    if (!response.ok) {
      await response.body?.cancel();
      return [];
    }
    return bundleResources(await response.json());
  } catch {
    return [];
  }
}

function assessmentsQuery(patientId: string): string {
  // Same query as the `assessments` prefetch template (cds-service-definitions.ts).
  const params = new URLSearchParams({
    patient: patientId,
    _security: `${AIAST.system}|${AIAST.code}`,
    _sort: '-date',
    _count: '20',
  });
  return `RiskAssessment?${params.toString()}`;
}

function preconditionFailed(diagnostics: string, expression: string): HookDataResult {
  return err({ status: 412, issue: outcome('required', diagnostics, expression) });
}

/**
 * The patient's assessments for a hook call: from `prefetch.assessments` when the client sent it
 * (CDS Hooks 2.0 §Prefetch), else searched on `fhirServer` with the `fhirAuthorization` bearer
 * token (§FHIR Resource Access), else — when `fhirServer` is our own EHR — with our own
 * credentials. Anything else is 412: the service cannot get the data it needs.
 */
export async function loadHookData(request: HookRequest, sources: HookDataSources): Promise<HookDataResult> {
  const { patientId } = request.context;
  const prefetchedPatient = request.prefetch[PREFETCH_KEYS.patient];
  let patient: Patient | undefined;
  if (prefetchedPatient) {
    if (prefetchedPatient.resourceType !== 'Patient' || prefetchedPatient.id !== patientId)
      return { ok: false, status: 400, issue: outcome('invalid', 'prefetch.patient is not the context patient', 'prefetch.patient.id') };
    patient = prefetchedPatient;
  }
  const prefetched = request.prefetch[PREFETCH_KEYS.assessments];
  if (prefetched) {
    if (prefetched.resourceType !== 'Bundle')
      return { ok: false, status: 400, issue: outcome('invalid', 'prefetch.assessments must be a Bundle', 'prefetch.assessments.resourceType') };
    const resources = ((prefetched as Bundle).entry ?? []).flatMap((e) => (e.resource ? [e.resource] : []));
    return { ok: true, value: { ...(patient ? { patient } : {}), assessments: [...resources, ...bundleResources(request.prefetch[PREFETCH_KEYS.drafts])], source: 'prefetch' } };
  }
  if (!request.fhirServer) return preconditionFailed('prefetch.assessments is missing and no fhirServer was given', 'prefetch.assessments');
  const server = withoutTrailingSlash(request.fhirServer);
  const own = withoutTrailingSlash(sources.ownFhirBaseUrl);
  let fetchFn: FetchLike;
  const headers: Record<string, string> = { accept: 'application/fhir+json' };
  if (request.fhirAuthorization) {
    if (!sources.allowedFhirServers.map(withoutTrailingSlash).includes(server))
      return preconditionFailed('fhirServer is not a FHIR server this service may call', 'fhirServer');
    fetchFn = sources.clientFetch;
    headers.authorization = `Bearer ${request.fhirAuthorization.access_token}`;
  } else if (server === own) {
    fetchFn = sources.ownFetch;
  } else {
    return preconditionFailed('prefetch.assessments is missing and no fhirAuthorization was given', 'fhirAuthorization');
  }
  let response: Response;
  try {
    response = await fetchFn(`${server}/${assessmentsQuery(patientId)}`, { headers });
  } catch {
    return preconditionFailed('fhirServer could not be reached', 'fhirServer');
  }
  if (!response.ok) {
    await response.body?.cancel();
    return preconditionFailed(`fhirServer answered ${response.status} to the RiskAssessment search`, 'fhirServer');
  }
  const bundle = (await response.json()) as Bundle;
  const drafts = sources.searchDrafts ? await searchDrafts(fetchFn, `${server}/${draftsQuery(patientId)}`, headers) : [];
  const resources = [...bundleResources(bundle), ...drafts];
  return {
    ok: true,
    value: { ...(patient ? { patient } : {}), assessments: resources, source: request.fhirAuthorization ? 'fhir-server' : 'own-ehr' },
  };
}
