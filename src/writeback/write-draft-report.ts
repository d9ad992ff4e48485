import type { MedplumClient } from '@medplum/core';
import type { Bundle, DiagnosticReport, Reference } from '@medplum/fhirtypes';
import {
  createdOrExists,
  locate,
  postTransaction,
  unexpectedBundle,
  type WriteAssessmentOptions,
} from './write-assessment.js';

/** What {@link writeDraftReport} reports. */
export interface WrittenDraftReport {
  /**
   * `created`, or `exists` when the conditional create matched an earlier write (possibly since
   * accepted or rejected by a clinician, which it therefore left alone).
   */
  outcome: 'created' | 'exists';
  reference: Reference<DiagnosticReport>;
}

/**
 * Validates and POSTs an AI-drafted description's transaction (from `buildDraftBundle`): the
 * drafting model's card and Device, the preliminary DiagnosticReport and its Provenance, each a
 * conditional create (FHIR R4 §3.1.0.8.1), so a repeat after a retry creates nothing new.
 *
 * @throws {@link WritebackInvalid} a resource failed validation, or the bundle has no report.
 * @throws {@link WritebackRejected} the EHR answered 4xx.
 * @throws {@link WritebackUnavailable} 5xx, timeout, refused connection: retry later.
 */
export async function writeDraftReport(
  client: MedplumClient,
  bundle: Bundle,
  options: WriteAssessmentOptions = {},
): Promise<WrittenDraftReport> {
  const entries = bundle.entry ?? [];
  const reportIndex = entries.findIndex((e) => e.resource?.resourceType === 'DiagnosticReport');
  if (bundle.type !== 'transaction' || reportIndex < 0) {
    throw unexpectedBundle('a transaction with a DiagnosticReport');
  }
  const response = await postTransaction(client, bundle, options);
  // §3.1.0.11.3: the response has one entry per request entry, in the same order.
  const reportEntry = response.entry?.[reportIndex];
  return {
    outcome: createdOrExists(reportEntry, 'DiagnosticReport'),
    reference: { reference: await locate(client, entries[reportIndex], reportEntry, 'DiagnosticReport') },
  };
}
