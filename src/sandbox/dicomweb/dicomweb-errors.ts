import type { OperationOutcome } from '@medplum/fhirtypes';
import type { FastifyReply } from 'fastify';

/** OperationOutcome issue codes used by the DICOMweb routes (FHIR R4 ValueSet issue-type). */
export type DicomwebIssueCode = 'invalid' | 'structure' | 'not-found' | 'not-supported' | 'processing';

/**
 * Sends an error as a FHIR OperationOutcome, the project's error currency at HTTP boundaries.
 * PS3.18 §8.6 leaves the error payload to the origin server; `expression` names the header, path
 * segment or query parameter at fault (e.g. `Accept`, `query.limit`, `body.part[2]`).
 */
export function sendDicomwebError(
  reply: FastifyReply,
  status: number,
  code: DicomwebIssueCode,
  diagnostics: string,
  expression?: string,
): FastifyReply {
  const outcome: OperationOutcome = {
    resourceType: 'OperationOutcome',
    issue: [{ severity: 'error', code, diagnostics, ...(expression ? { expression: [expression] } : {}) }],
  };
  return reply.code(status).type('application/fhir+json').send(outcome);
}
