import { createHash, randomUUID } from 'node:crypto';
import { OperationOutcomeError } from '@medplum/core';
import type { MedplumClient } from '@medplum/core';
import type { Bundle } from '@medplum/fhirtypes';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import type { AssessmentQueue } from '../../jobs/assessment-queue.js';
import type { Metrics } from '../../observability/create-metrics.js';
import { inboxHasEvent } from '../../store/inbox-repository.js';
import { storeNotification } from '../store-notification.js';
import { decodeHl7Message } from './decode-hl7-message.js';
import type { Hl7Header } from './decode-hl7-message.js';
import { buildAck } from './hl7-ack.js';
import type { AckCode } from './hl7-ack.js';
import { HL7_ERROR, locationOf, problem } from './hl7-error.js';
import type { Hl7Problem } from './hl7-error.js';
import { oruTransaction } from './oru-to-fhir.js';
import { readOru } from './read-oru.js';
import { resolvePatient } from './resolve-patient.js';

/** The inbox `subscription` of messages received over MLLP. */
export const HL7V2_INBOX_SOURCE = 'hl7v2-mllp';

/** Dependencies of {@link receiveOru}. */
export interface ReceiveOruDeps {
  pool: Pool;
  queue: AssessmentQueue;
  /** The EHR: Patient search and the results' write (it needs Patient.rs and Observation/DiagnosticReport.c). */
  ehr: MedplumClient;
  logger: Logger;
  metrics: Metrics;
  /** HL7_ASSIGNING_AUTHORITIES: CX.4 namespace or universal id → Identifier.system. */
  assigningAuthorities: Readonly<Record<string, string>>;
}

/**
 * The key of one message: MSH-10 is unique per sending application and facility (HL7 v2.5.1
 * §2.15.9.10), so the three together identify a message and its resends. Hashed: it appears in
 * FHIR identifiers and the inbox, and must be short and free of delimiters.
 */
export function hl7MessageKey(header: Hl7Header): string {
  const parts = [header.sendingApplication.join('^'), header.sendingFacility.join('^'), header.controlId];
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 32);
}

/**
 * Handles one received message and returns its ACK (bytes, UTF-8). In order:
 * 1. decode and check the header (`AR` for an unknown message type, version or unreadable MSH);
 * 2. read the ORU^R01 (`AE` with ERR naming the field for bad content);
 * 3. a resend (same MSH-3/-4/-10 already in the inbox) is answered `AA` and does nothing more;
 * 4. find the patient by PID-3 in the EHR (`AE`, 204, when none or several match);
 * 5. write the results to the EHR as FHIR (one transaction of conditional creates, so a resend after
 *    a crash here matches instead of duplicating);
 * 6. store the inbox row and the patient's job in one transaction;
 * 7. only then `AA`. EHR failures in 4–5 are `AR` (Table 0357 207): nothing was stored, and the
 *    sender resends. `AE`/`AR` messages are not stored: the sender still holds them.
 */
export async function receiveOru(payload: Buffer, deps: ReceiveOruDeps): Promise<Buffer> {
  const { metrics, logger } = deps;
  metrics.notificationsReceived.inc({ dialect: 'hl7v2' });
  const traceId = randomUUID();
  const answer = (
    code: AckCode,
    header: Hl7Header | undefined,
    problems: Hl7Problem[],
    outcome: string,
    extra: Record<string, unknown> = {},
  ): Buffer => {
    const first = problems.find((p) => p.severity === 'E');
    if (code !== 'AA') metrics.notificationsRejected.inc({ reason: `hl7v2-${first?.code ?? code}` });
    logger.info(
      {
        traceId,
        ack: code,
        outcome,
        bytes: payload.length,
        ...(first ? { error: first.code, at: locationOf(first) } : {}),
        ...extra,
      },
      'hl7 message answered',
    );
    return Buffer.from(buildAck(code, header, problems), 'utf8');
  };

  const decoded = decodeHl7Message(payload);
  if (!decoded.ok) return answer(decoded.ack, decoded.header, [decoded.problem], 'refused');
  const { header } = decoded.decoded;
  const read = readOru(decoded.decoded);
  if (!read.ok) return answer('AE', header, [read.problem], 'refused');
  const { oru } = read;
  const messageKey = hl7MessageKey(header);
  const dedupeKey = `hl7v2:${messageKey}`;
  try {
    if (await inboxHasEvent(deps.pool, dedupeKey)) {
      metrics.notificationsRedelivered.inc();
      return answer('AA', header, [], 'duplicate', { messageKey });
    }
    const patient = await resolvePatient(deps.ehr, oru.identifiers, deps.assigningAuthorities);
    if (!patient.ok) return answer('AE', header, [patient.problem], 'unknown-patient', { messageKey });
    const response = await deps.ehr.executeBatch(oruTransaction(oru, patient.patientId, messageKey));
    const written = writtenReferences(response);
    if (written === undefined) {
      return answer('AR', header, [internal('the EHR did not confirm every result written')], 'ehr-failed', {
        messageKey,
      });
    }
    const stored = await storeNotification(
      deps.pool,
      deps.queue,
      HL7V2_INBOX_SOURCE,
      [
        {
          dialect: 'hl7v2',
          dedupeKey,
          patientId: patient.patientId,
          payload: {
            messageKey,
            results: oru.results.length,
            written,
          },
        },
      ],
      traceId,
    );
    metrics.notificationsAccepted.inc();
    return answer('AA', header, oru.warnings, stored.stored > 0 ? 'stored' : 'duplicate', {
      messageKey,
      written: written.length,
      enqueued: stored.enqueued,
    });
  } catch (err) {
    if (refusedByEhr(err)) {
      // The EHR answered 4xx to what fhir-fusion made of the message: resending it unchanged cannot help.
      return answer(
        'AE',
        header,
        [internal('the EHR refused the FHIR resources made from this message')],
        'ehr-refused',
        { messageKey },
      );
    }
    // The EHR or the database failed: nothing acknowledged, the sender's resend is safe (steps 3 and 5).
    // Name and codes only: an EHR's error text can echo the identifier searched for.
    logger.warn({ traceId, err: errorSummary(err) }, 'hl7 message not stored');
    return answer(
      'AR',
      header,
      [internal('fhir-fusion could not store the message now; send it again')],
      'failed',
      { messageKey },
    );
  }
}

/** What may be logged of an error: its name, its errno code, its OperationOutcome issue codes. */
function errorSummary(err: unknown): Record<string, unknown> {
  const e = err as NodeJS.ErrnoException & { cause?: { code?: unknown } };
  return {
    name: e?.name,
    ...(typeof e?.code === 'string' ? { code: e.code } : {}),
    ...(typeof e?.cause?.code === 'string' ? { cause: e.cause.code } : {}),
    ...(err instanceof OperationOutcomeError ? { issues: (err.outcome.issue ?? []).map((i) => i.code) } : {}),
  };
}

/** Whether the error is the EHR's OperationOutcome for content (4xx), not an outage. */
function refusedByEhr(err: unknown): boolean {
  if (!(err instanceof OperationOutcomeError)) return false;
  const codes = (err.outcome.issue ?? []).map((i) => i.code);
  return codes.some((c) =>
    [
      'invalid',
      'structure',
      'required',
      'value',
      'invariant',
      'processing',
      'business-rule',
      'not-supported',
    ].includes(c),
  );
}

function internal(text: string): Hl7Problem {
  return problem({ segment: 'MSH', occurrence: 1, field: 0 }, HL7_ERROR.applicationInternalError, text);
}

/** The `Type/id` of each entry a transaction-response wrote or matched; undefined if one failed. */
function writtenReferences(response: Bundle): string[] | undefined {
  const refs: string[] = [];
  for (const entry of response.entry ?? []) {
    const status = entry.response?.status ?? '';
    const location =
      entry.response?.location ??
      (entry.resource ? `${entry.resource.resourceType}/${entry.resource.id}` : '');
    const match = /(?:^|\/)([A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/.exec(location);
    if (!/^20[01]/.test(status) || !match) return undefined;
    refs.push(match[1]!);
  }
  return refs;
}
