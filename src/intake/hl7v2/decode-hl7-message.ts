import { Hl7Message } from '@medplum/core';
import type { Hl7Segment } from '@medplum/core';
import { decodeHl7Bytes, isKnownCharset } from './hl7-charset.js';
import { HL7_ERROR, problem } from './hl7-error.js';
import type { Hl7Problem } from './hl7-error.js';
import { unescapeHl7 } from './hl7-escape.js';
import type { Hl7Delimiters } from './hl7-escape.js';

/** The MSH fields an ACK echoes and intake needs, unescaped. */
export interface Hl7Header {
  delimiters: Hl7Delimiters;
  /** MSH-3..6 as component lists (HD). */
  sendingApplication: string[];
  sendingFacility: string[];
  receivingApplication: string[];
  receivingFacility: string[];
  /** MSH-7. */
  dateTime: string;
  /** MSH-9.1, MSH-9.2. */
  messageType: string;
  triggerEvent: string;
  /** MSH-10. */
  controlId: string;
  /** MSH-11.1. */
  processingId: string;
  /** MSH-12.1. */
  version: string;
}

/** A decoded message: medplum's parse tree, the delimiters and a value reader. */
export interface DecodedHl7 {
  header: Hl7Header;
  message: Hl7Message;
  /**
   * Reads one value (1-based positions, repetition 1 by default), unescaped; '' when absent.
   * Without `subcomponent`, the whole component (subcomponent separators included).
   */
  value(
    segment: Hl7Segment,
    field: number,
    component?: number,
    subcomponent?: number,
    repetition?: number,
  ): string;
  /** How many repetitions a field has (0 when empty). */
  repetitions(segment: Hl7Segment, field: number): number;
}

/** The result of {@link decodeHl7Message}: a message, or what to answer and why. */
export type DecodeResult =
  | { ok: true; decoded: DecodedHl7 }
  | { ok: false; ack: 'AE' | 'AR'; problem: Hl7Problem; header?: Hl7Header };

/** Most segments a message may have; a message over this is refused before medplum parses it. */
const MAX_SEGMENTS = 10_000;

const MSH = { segment: 'MSH', occurrence: 1 } as const;

/**
 * A refusal that names MSH-`at` (a field, or `[field, component]`): the ACK code to answer with
 * (§2.9.2) and the ERR problem. `header` goes with it once the header could be read, so the ACK can
 * echo MSH-10.
 */
function refusal(
  ack: 'AE' | 'AR',
  at: number | [field: number, component: number],
  code: Hl7Problem['code'],
  text: string,
  header?: Hl7Header,
): DecodeResult {
  const location =
    typeof at === 'number' ? { ...MSH, field: at } : { ...MSH, field: at[0], component: at[1] };
  return { ok: false, ack, problem: problem(location, code, text), ...(header ? { header } : {}) };
}

/** Whether `c` may be a delimiter: printable ASCII punctuation (§2.5.4 recommends `|^~\&`). */
function isDelimiter(c: string | undefined): c is string {
  return c !== undefined && /^[!-/:-@[-`{-~]$/.test(c);
}

/**
 * Decodes the bytes of one MLLP frame (HL7 v2.5.1 §2.5, §2.15.9): the MSH segment first, its
 * delimiters (MSH-1, MSH-2: distinct punctuation), the character set (MSH-18), then the message
 * (segments split by CR, also LF and CRLF as interface engines send them) parsed by
 * `@medplum/core`'s `Hl7Message`, and MSH-9/-10/-11/-12 checked: only `ORU^R01` of a v2.x version
 * is accepted. A message whose header cannot be read is answered `AR` (§2.9.2: the header failed
 * validation), a readable header with bad content `AE`. Never throws.
 */
export function decodeHl7Message(bytes: Buffer): DecodeResult {
  if (bytes.length < 8 || bytes.toString('latin1', 0, 3) !== 'MSH') {
    return refusal('AR', 0, HL7_ERROR.segmentSequence, 'the message does not begin with an MSH segment');
  }
  const head = bytes.toString('latin1', 0, Math.min(bytes.length, 64));
  const field = head[3];
  const [component, repetition, escape, subcomponent] = [head[4], head[5], head[6], head[7]];
  const chars = [field, component, repetition, escape, subcomponent];
  if (!chars.every(isDelimiter) || new Set(chars).size !== 5) {
    return refusal(
      'AR',
      2,
      HL7_ERROR.dataTypeError,
      'MSH-1 and MSH-2 must be five distinct punctuation characters',
    );
  }
  const delimiters: Hl7Delimiters = {
    field: field!,
    component: component!,
    repetition: repetition!,
    escape: escape!,
    subcomponent: subcomponent!,
  };
  // MSH-18 is read from the raw bytes first: the delimiters are ASCII in every set Table 0211 allows.
  const firstSegmentEnd = bytes.findIndex((b) => b === 0x0d || b === 0x0a);
  const mshRaw = bytes
    .toString('latin1', 0, firstSegmentEnd === -1 ? bytes.length : firstSegmentEnd)
    .split(delimiters.field);
  const msh18 = (mshRaw[17] ?? '').split(delimiters.repetition)[0] ?? '';
  if (!isKnownCharset(msh18)) {
    return refusal(
      'AE',
      18,
      HL7_ERROR.tableValueNotFound,
      'MSH-18 names a character set fhir-fusion cannot decode',
    );
  }
  const text = decodeHl7Bytes(bytes, msh18);
  if (text === undefined) {
    return refusal(
      'AE',
      18,
      HL7_ERROR.dataTypeError,
      'the message bytes are not valid in the character set MSH-18 names',
    );
  }
  const lines = text.split(/\r\n|\r|\n/).filter((line) => line.length > 0);
  if (lines.length > MAX_SEGMENTS) {
    return refusal('AE', 0, HL7_ERROR.segmentSequence, `the message has more than ${MAX_SEGMENTS} segments`);
  }
  const message = Hl7Message.parse(lines.join('\r'));
  const read = reader(message, delimiters);
  const msh = message.segments[0]!;
  const hd = (n: number): string[] => {
    const comps: string[] = [];
    for (let c = 1; c <= 3; c++) comps.push(read.value(msh, n, c));
    while (comps.length > 1 && comps[comps.length - 1] === '') comps.pop();
    return comps;
  };
  const header: Hl7Header = {
    delimiters,
    sendingApplication: hd(3),
    sendingFacility: hd(4),
    receivingApplication: hd(5),
    receivingFacility: hd(6),
    dateTime: read.value(msh, 7),
    messageType: read.value(msh, 9, 1),
    triggerEvent: read.value(msh, 9, 2),
    controlId: read.value(msh, 10),
    processingId: read.value(msh, 11),
    version: read.value(msh, 12),
  };
  const refuse = (ack: 'AE' | 'AR', at: number | [number, number], code: Hl7Problem['code'], text: string) =>
    refusal(ack, at, code, text, header);
  if (header.messageType === '')
    return refuse('AR', [9, 1], HL7_ERROR.requiredFieldMissing, 'MSH-9 (message type) is empty');
  if (header.messageType !== 'ORU') {
    return refuse('AR', [9, 1], HL7_ERROR.unsupportedMessageType, 'only ORU messages are accepted');
  }
  if (header.triggerEvent !== 'R01') {
    return refuse('AR', [9, 2], HL7_ERROR.unsupportedEventCode, 'only the R01 trigger event is accepted');
  }
  if (header.controlId === '')
    return refuse('AE', 10, HL7_ERROR.requiredFieldMissing, 'MSH-10 (message control id) is empty');
  if (header.controlId.length > 199)
    return refuse('AE', 10, HL7_ERROR.dataTypeError, 'MSH-10 is longer than 199 characters');
  if (!['P', 'T', 'D', ''].includes(header.processingId)) {
    return refuse('AR', 11, HL7_ERROR.unsupportedProcessingId, 'MSH-11 must be P, T or D');
  }
  if (!/^2\.\d/.test(header.version)) {
    return refuse('AR', 12, HL7_ERROR.unsupportedVersionId, 'MSH-12 must be an HL7 version 2.x');
  }
  return { ok: true, decoded: { ...read, header } };
}

/** Value access over medplum's tree, bounds-checked (medplum indexes repetitions unchecked). */
function reader(message: Hl7Message, d: Hl7Delimiters): Omit<DecodedHl7, 'header'> {
  const raw = (segment: Hl7Segment, field: number): string[][] | undefined => {
    if (segment.name === 'MSH' && field <= 2) return undefined;
    return segment.getField(field)?.components;
  };
  return {
    message,
    value(segment, field, component = 1, subcomponent, repetition = 1) {
      const rep = raw(segment, field)?.[repetition - 1];
      let text = rep?.[component - 1] ?? '';
      // Without a subcomponent the whole component is returned: text types (ST, TX, FT) have none.
      if (subcomponent !== undefined) text = text.split(d.subcomponent)[subcomponent - 1] ?? '';
      return unescapeHl7(text, d);
    },
    repetitions(segment, field) {
      const reps = raw(segment, field);
      if (!reps || (reps.length === 1 && reps[0]!.every((c) => c === ''))) return 0;
      return reps.length;
    },
  };
}
