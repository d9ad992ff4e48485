import type { MedplumClient } from '@medplum/core';
import { OperationOutcomeError } from '@medplum/core';
import type {
  Bundle,
  BundleEntry,
  OperationOutcome,
  Provenance,
  Reference,
  RiskAssessment,
} from '@medplum/fhirtypes';
import type { ProfileValidator } from './validate-profiles.js';
import { createProfileValidator } from './validate-profiles.js';
import type { ThreadedProfileValidator } from './threaded-validator.js';
import { ensureR4DefinitionsIndexed } from './index-r4-definitions.js';
import { WritebackInvalid, WritebackRejected, WritebackUnavailable } from './writeback-errors.js';

export { WritebackInvalid, WritebackRejected, WritebackUnavailable } from './writeback-errors.js';

/** What {@link writeAssessment} reports. */
export interface WrittenAssessment {
  /** `created`: the RiskAssessment is new; `exists`: the conditional create matched an earlier write. */
  outcome: 'created' | 'exists';
  riskAssessment: Reference<RiskAssessment>;
  provenance: Reference<Provenance>;
}

/** Options for {@link writeAssessment}. */
export interface WriteAssessmentOptions {
  /**
   * Validator to run before sending. Pass the process's one validator; when absent a new one is
   * created for this call (it re-reads the profiles, so only do that in one-off tools).
   */
  validator?: ProfileValidator | ThreadedProfileValidator;
  /** Abort the POST after this many milliseconds (then {@link WritebackUnavailable}). Default 30 s. */
  timeoutMs?: number;
}

// OperationOutcome issue types (R4 issue-type) that describe a server-side or transient failure.
const TRANSIENT_ISSUE_CODES = new Set([
  'exception',
  'timeout',
  'transient',
  'throttled',
  'lock-error',
  'no-store',
  'incomplete',
]);

/**
 * Medplum's client turns any >= 400 response into an `OperationOutcomeError` and keeps only the
 * body, so the status is inferred from the outcome: a transient issue type (what HAPI, Medplum and
 * the FHIR spec use for 5xx) or a non-FHIR body (a proxy's 502/503 page, which the client wraps as
 * text) is retryable; anything else is the EHR refusing the content.
 */
function classifyOutcome(outcome: OperationOutcome): 'rejected' | 'unavailable' {
  const issues = outcome.issue ?? [];
  if (issues.some((i) => TRANSIENT_ISSUE_CODES.has(i.code))) return 'unavailable';
  const text = issues.map((i) => i.details?.text ?? '').join(' ');
  if (
    /<html|<!doctype|bad gateway|service unavailable|gateway time-?out|internal server error|too many requests|request time-?out/i.test(
      text,
    )
  ) {
    return 'unavailable';
  }
  return 'rejected';
}

/**
 * What a transaction-response entry says of a conditional create (R4 §3.1.0.8.1): `201` →
 * `created`, `200` → `exists` (it matched an earlier write). Any other status, or none, is not an
 * answer the write can be sure of: {@link WritebackUnavailable}, so the job retries.
 */
export function createdOrExists(entry: BundleEntry | undefined, resourceType: string): 'created' | 'exists' {
  const status = Number.parseInt(entry?.response?.status ?? '', 10);
  if (status === 201) return 'created';
  if (status === 200) return 'exists';
  throw new WritebackUnavailable(
    `unexpected ${resourceType} entry status ${entry?.response?.status ?? 'missing'}`,
  );
}

/** The refusal of a bundle that is not the transaction a writer expects; nothing is sent. */
export function unexpectedBundle(expected: string): WritebackInvalid {
  return new WritebackInvalid({
    resourceType: 'OperationOutcome',
    issue: [
      {
        severity: 'error',
        code: 'structure',
        details: { text: `expected ${expected}` },
        expression: ['Bundle'],
      },
    ],
  });
}

/** `RiskAssessment/123/_history/1` (or a full URL) → `RiskAssessment/123`, if it is one. */
function referenceFromLocation(location: string | undefined, resourceType: string): string | undefined {
  const match = location?.match(new RegExp(`(?:^|/)${resourceType}/([A-Za-z0-9\\-.]{1,64})(?:/|$)`));
  return match?.[1] ? `${resourceType}/${match[1]}` : undefined;
}

/**
 * Where the entry's resource lives: from `response.location`, or — for servers that leave it out
 * when a conditional create matched (R4 §3.1.0.11.3 makes it required only for 201) — by running
 * the entry's own `ifNoneExist` query.
 */
export async function locate(
  client: MedplumClient,
  request: BundleEntry | undefined,
  response: BundleEntry | undefined,
  resourceType: 'RiskAssessment' | 'Provenance' | 'DiagnosticReport',
): Promise<string> {
  const fromLocation = referenceFromLocation(response?.response?.location, resourceType);
  if (fromLocation) return fromLocation;
  const query = request?.request?.ifNoneExist;
  const found = query ? await client.searchOne(resourceType, query, { cache: 'no-cache' }) : undefined;
  if (!found?.id) throw new WritebackUnavailable(`transaction response lacks a ${resourceType} location`);
  return `${resourceType}/${found.id}`;
}

async function validateBundle(
  bundle: Bundle,
  validator: ProfileValidator | ThreadedProfileValidator,
): Promise<void> {
  const entries = bundle.entry ?? [];
  const resources = entries.flatMap((e) => (e.resource ? [e.resource] : []));
  const outcomes =
    'validateAll' in validator
      ? await validator.validateAll(resources)
      : resources.map((r) => validator.validate(r));
  let next = 0;
  const issues = entries.flatMap((entry, index) => {
    if (!entry.resource) return [];
    const outcome = outcomes[next++];
    // Point each issue at the entry in the Bundle (`Bundle.entry[i].resource.…`).
    return (outcome?.issue ?? []).map((issue) => ({
      ...issue,
      expression: issue.expression?.map(
        (e) => `Bundle.entry[${index}].resource${e.slice(e.indexOf('.') < 0 ? e.length : e.indexOf('.'))}`,
      ),
    }));
  });
  if (issues.some((i) => i.severity === 'error' || i.severity === 'fatal')) {
    throw new WritebackInvalid({ resourceType: 'OperationOutcome', issue: issues });
  }
}

/**
 * Validates every resource of a transaction Bundle and POSTs it (FHIR R4 §3.1.0.11), with the
 * client's own retries off (retries are the job queue's business).
 *
 * @throws {@link WritebackInvalid} a resource failed validation; nothing was sent.
 * @throws {@link WritebackRejected} the EHR answered 4xx (carries its OperationOutcome).
 * @throws {@link WritebackUnavailable} 5xx, timeout, refused connection: retry later.
 */
export async function postTransaction(
  client: MedplumClient,
  bundle: Bundle,
  options: WriteAssessmentOptions,
): Promise<Bundle> {
  await validateBundle(bundle, options.validator ?? createProfileValidator(ensureR4DefinitionsIndexed()));

  let response: Bundle;
  try {
    response = await client.executeBatch(bundle, {
      maxRetries: 0,
      signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
      cache: 'no-cache',
    });
  } catch (err) {
    if (err instanceof OperationOutcomeError) {
      if (classifyOutcome(err.outcome) === 'rejected') throw new WritebackRejected(err.outcome);
      throw new WritebackUnavailable('EHR reported a server error', err.outcome, { cause: err });
    }
    // fetch failures (ECONNREFUSED, DNS), AbortSignal timeouts and the like.
    throw new WritebackUnavailable(err instanceof Error ? err.name : 'request failed', undefined, {
      cause: err,
    });
  }

  return response;
}

/**
 * Validates every resource in an assessment transaction Bundle (from `buildAssessmentBundle`) and
 * POSTs it to the FHIR base (FHIR R4 §3.1.0.11 transaction). Retries are the job queue's business,
 * so the client's own retries are off.
 *
 * Outcome: the transaction-response entry for the RiskAssessment is `201` when created and `200`
 * when its conditional create matched an existing one (§3.1.0.8.1 / §2.21.0.6) → `exists`.
 *
 * @throws {@link WritebackInvalid} a resource failed validation; nothing was sent.
 * @throws {@link WritebackRejected} the EHR answered 4xx (carries its OperationOutcome).
 * @throws {@link WritebackUnavailable} 5xx, timeout, refused connection: retry later.
 */
export async function writeAssessment(
  client: MedplumClient,
  bundle: Bundle,
  options: WriteAssessmentOptions = {},
): Promise<WrittenAssessment> {
  const entries = bundle.entry ?? [];
  const riskIndex = entries.findIndex((e) => e.resource?.resourceType === 'RiskAssessment');
  const provenanceIndex = entries.findIndex((e) => e.resource?.resourceType === 'Provenance');
  if (bundle.type !== 'transaction' || riskIndex < 0 || provenanceIndex < 0) {
    throw unexpectedBundle('a transaction with a RiskAssessment and a Provenance');
  }
  const response = await postTransaction(client, bundle, options);

  // §3.1.0.11.3: the response has one entry per request entry, in the same order.
  const riskEntry = response.entry?.[riskIndex];
  const provenanceEntry = response.entry?.[provenanceIndex];
  return {
    outcome: createdOrExists(riskEntry, 'RiskAssessment'),
    riskAssessment: { reference: await locate(client, entries[riskIndex], riskEntry, 'RiskAssessment') },
    provenance: { reference: await locate(client, entries[provenanceIndex], provenanceEntry, 'Provenance') },
  };
}
