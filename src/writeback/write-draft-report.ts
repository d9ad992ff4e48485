import type { MedplumClient } from '@medplum/core';
import type { Bundle, DiagnosticReport, Reference } from '@medplum/fhirtypes';
import { entryStatus, locate, postTransaction, type WriteAssessmentOptions } from './write-assessment.js';
import { WritebackInvalid, WritebackUnavailable } from './writeback-errors.js';

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
    throw new WritebackInvalid({
      resourceType: 'OperationOutcome',
      issue: [
        {
          severity: 'error',
          code: 'structure',
          details: { text: 'expected a transaction with a DiagnosticReport' },
          expression: ['Bundle'],
        },
      ],
    });
  }
  const response = await postTransaction(client, bundle, options);
  // §3.1.0.11.3: the response has one entry per request entry, in the same order.
  const reportEntry = response.entry?.[reportIndex];
  const status = entryStatus(reportEntry);
  if (status !== 200 && status !== 201) {
    throw new WritebackUnavailable(
      `unexpected DiagnosticReport entry status ${reportEntry?.response?.status ?? 'missing'}`,
    );
  }
  return {
    outcome: status === 201 ? 'created' : 'exists',
    reference: { reference: await locate(client, entries[reportIndex], reportEntry, 'DiagnosticReport') },
  };
}
