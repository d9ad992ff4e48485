import { randomUUID } from 'node:crypto';
import type { Hl7Header } from './decode-hl7-message.js';
import { HL7_ERROR_TEXT } from './hl7-error.js';
import type { Hl7Problem } from './hl7-error.js';
import { DEFAULT_DELIMITERS, escapeHl7 } from './hl7-escape.js';

/** Original-mode acknowledgment codes (HL7 v2.5.1 Table 0008). */
export type AckCode = 'AA' | 'AE' | 'AR';

/** `YYYYMMDDHHMMSS+0000`: MSH-7 of an ACK (DTM, UTC). */
function nowDtm(now: Date): string {
  return `${now.toISOString().replace(/[-:T]/g, '').slice(0, 14)}+0000`;
}

/**
 * An `ACK` (HL7 v2.5.1 §2.9.2 original acknowledgment, §2.14.1 ACK message): MSH with sender and
 * receiver swapped, MSA with the code and the acknowledged MSH-10, and an ERR segment (§2.15.5)
 * per problem — ERR-2 the location, ERR-3 the Table 0357 code, ERR-4 the severity, ERR-8 the
 * text. Written with the recommended delimiters whatever the message used (the ACK's own MSH-2
 * says which), values escaped, encoded as UTF-8 (MSH-18 `UNICODE UTF-8` when it is not ASCII).
 * When the message header could not be read, the ACK has empty addressing fields and MSA-2.
 */
export function buildAck(
  code: AckCode,
  header: Hl7Header | undefined,
  problems: Hl7Problem[] = [],
  now = new Date(),
): string {
  const d = DEFAULT_DELIMITERS;
  const hd = (components: string[] | undefined): string =>
    (components ?? []).map((c) => escapeHl7(c, d)).join(d.component);
  const msh = [
    'MSH',
    `${d.component}${d.repetition}${d.escape}${d.subcomponent}`,
    hd(header?.receivingApplication ?? ['FHIR-FUSION']),
    hd(header?.receivingFacility),
    hd(header?.sendingApplication),
    hd(header?.sendingFacility),
    nowDtm(now),
    '',
    `ACK${d.component}${escapeHl7(header?.triggerEvent ?? '', d)}${d.component}ACK`,
    randomUUID().replace(/-/g, '').slice(0, 20),
    escapeHl7(header?.processingId || 'P', d),
    escapeHl7(header?.version || '2.5.1', d),
  ].join(d.field);
  const text =
    code === 'AA'
      ? 'Message stored'
      : ((problems.find((p) => p.severity === 'E') ?? problems[0])?.text ?? '');
  const msa = ['MSA', code, escapeHl7(header?.controlId ?? '', d), escapeHl7(text.slice(0, 80), d)].join(
    d.field,
  );
  const errs = problems.map((p) =>
    [
      'ERR',
      '',
      [p.segment, p.occurrence, p.field, p.repetition ?? '', p.component ?? '']
        .map((c) => escapeHl7(String(c), d))
        .join(d.component),
      [p.code, HL7_ERROR_TEXT[p.code] ?? '', 'HL70357'].join(d.component),
      p.severity,
      '',
      '',
      '',
      escapeHl7(p.text, d),
    ].join(d.field),
  );
  const ack = [msh, msa, ...errs];
  // The ACK is sent as UTF-8; MSH-18 says so when it is not plain ASCII (an empty MSH-18 means ASCII).
  // eslint-disable-next-line no-control-regex
  if (ack.some((segment) => /[^\u0000-\u007f]/.test(segment))) ack[0] += `${d.field.repeat(6)}UNICODE UTF-8`;
  return ack.join('\r');
}
