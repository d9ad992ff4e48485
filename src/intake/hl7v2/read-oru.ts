import type { Hl7Segment } from '@medplum/core';
import type { Attachment, CodeableConcept, Coding, Quantity } from '@medplum/fhirtypes';
import type { DecodedHl7 } from './decode-hl7-message.js';
import { HL7_ERROR, problem } from './hl7-error.js';
import type { Hl7Problem } from './hl7-error.js';
import { hl7Offset, hl7TimeToFhir } from './hl7-time.js';

/** One PID-3 repetition (CX, v2.5.1 §2A.3.14): the id and its assigning authority (HD). */
export interface PatientIdentifierCandidate {
  value: string;
  /** CX.4.1 namespace id, CX.4.2 universal id, CX.4.3 universal id type (ISO, UUID, URI, …). */
  namespace: string;
  universalId: string;
  universalIdType: string;
  /** Which repetition of PID-3 (1-based), for the ERR segment. */
  repetition: number;
}

/** The value of one OBX, mapped to a FHIR Observation value (or an attachment for ED). */
export type ResultValue =
  | { kind: 'quantity'; quantity: Quantity }
  | { kind: 'string'; text: string }
  | { kind: 'codeable'; concept: CodeableConcept }
  | { kind: 'attachment'; attachment: Attachment }
  | { kind: 'absent' };

/** One OBX (HL7 v2.5.1 §7.4.2), read. */
export interface OruResult {
  /** Which OBX of the message (1-based): part of the result's identifier. */
  occurrence: number;
  /** Which OBR it follows (1-based; 0 when none). */
  order: number;
  code: CodeableConcept;
  value: ResultValue;
  /** FHIR Observation.status from OBX-11 (Table 0085). */
  status: 'final' | 'corrected' | 'preliminary' | 'cancelled' | 'entered-in-error' | 'registered' | 'unknown';
  effective?: string;
}

/** One OBR (§7.4.1), read. */
export interface OruOrder {
  occurrence: number;
  code: CodeableConcept;
  effective?: string;
  status: 'final' | 'corrected' | 'preliminary' | 'cancelled' | 'registered' | 'unknown';
}

/** An `ORU^R01`, read: patient identifiers, orders, results, and warnings for the ACK. */
export interface OruMessage {
  identifiers: PatientIdentifierCandidate[];
  orders: OruOrder[];
  results: OruResult[];
  warnings: Hl7Problem[];
}

/** HL7 v2 coding system names (Table 0396) with a FHIR system URI. */
const CODE_SYSTEMS: Readonly<Record<string, string>> = {
  LN: 'http://loinc.org',
  SCT: 'http://snomed.info/sct',
  UCUM: 'http://unitsofmeasure.org',
  I10: 'http://hl7.org/fhir/sid/icd-10',
};

/** OBX-11 / OBR-25 result status (Table 0085 / 0123) → FHIR status. */
const RESULT_STATUS: Readonly<Record<string, OruResult['status']>> = {
  F: 'final',
  C: 'corrected',
  P: 'preliminary',
  R: 'preliminary',
  S: 'preliminary',
  A: 'preliminary',
  I: 'registered',
  O: 'registered',
  X: 'cancelled',
  D: 'entered-in-error',
  W: 'entered-in-error',
};

/** ED type of data / subtype (Table 0191, 0291) → MIME type. */
function mimeOf(type: string, subtype: string): string {
  const t = type.toUpperCase();
  const s = subtype.toUpperCase();
  if (s === 'PDF') return 'application/pdf';
  if (s === 'JPEG' || s === 'JPG') return 'image/jpeg';
  if (s === 'PNG') return 'image/png';
  if (s === 'TIFF') return 'image/tiff';
  if (s === 'RTF') return 'application/rtf';
  if (s === 'HTML') return 'text/html';
  if (s === 'XML') return 'application/xml';
  if (t === 'TEXT' || s === 'PLAIN' || s === 'TEXT') return 'text/plain';
  if (/^[a-z]+\/[a-z0-9.+-]+$/i.test(subtype)) return subtype.toLowerCase();
  return 'application/octet-stream';
}

/** Largest number of OBX segments read from one message. */
const MAX_RESULTS = 2000;

/** The answer when an ORU is refused: the ERR problem, which the caller acknowledges `AE`. */
type Refused = { ok: false; problem: Hl7Problem };

/** A refusal naming `at` (segment, occurrence, field, component, repetition: ERR-2). */
function refused(at: Parameters<typeof problem>[0], code: Hl7Problem['code'], text: string): Refused {
  return { ok: false, problem: problem(at, code, text) };
}

/** The location of `field` in the first `segment` of the message. */
function firstOf(segment: string, field: number): Parameters<typeof problem>[0] {
  return { segment, occurrence: 1, field };
}

/**
 * Reads an `ORU^R01` (HL7 v2.5.1 §7.3.1): PID-3, each OBR and each OBX with value types NM, ST,
 * TX, FT and ED (and CE/CWE as a coded value). An OBX of another value type is skipped with a
 * warning (ERR severity W) rather than refusing the whole message. Content that is present but
 * wrong (a non-number in an NM, an unreadable ED, a bad date) refuses the message: `AE` naming
 * the field, so the sender fixes it rather than fhir-fusion guessing.
 */
export function readOru(decoded: DecodedHl7): { ok: true; oru: OruMessage } | Refused {
  const { message, value, repetitions } = decoded;
  const defaultOffset = hl7Offset(decoded.header.dateTime) ?? '+0000';
  const counts = new Map<string, number>();
  const occurrence = (s: Hl7Segment): number => {
    const n = (counts.get(s.name) ?? 0) + 1;
    counts.set(s.name, n);
    return n;
  };
  const oru: OruMessage = { identifiers: [], orders: [], results: [], warnings: [] };
  let pid: Hl7Segment | undefined;
  let order: OruOrder | undefined;
  for (const segment of message.segments) {
    const n = occurrence(segment);
    const at = (field: number, component?: number, repetition?: number) => ({
      segment: segment.name,
      occurrence: n,
      field,
      ...(component ? { component } : {}),
      ...(repetition ? { repetition } : {}),
    });
    const time = (field: number): { ok: true; value?: string } | Refused => {
      const raw = value(segment, field);
      if (raw === '') return { ok: true };
      const fhir = hl7TimeToFhir(raw, defaultOffset);
      return fhir
        ? { ok: true, value: fhir }
        : refused(at(field), HL7_ERROR.dataTypeError, 'not a valid DTM date/time');
    };
    if (segment.name === 'PID' && !pid) {
      pid = segment;
      for (let r = 1; r <= Math.min(repetitions(segment, 3), 20); r++) {
        const id = value(segment, 3, 1, undefined, r);
        if (id === '') continue;
        oru.identifiers.push({
          value: id,
          namespace: value(segment, 3, 4, 1, r),
          universalId: value(segment, 3, 4, 2, r),
          universalIdType: value(segment, 3, 4, 3, r),
          repetition: r,
        });
      }
    } else if (segment.name === 'OBR') {
      const effective = time(7);
      if (!effective.ok) return effective;
      order = {
        occurrence: n,
        code: codeableOf(decoded, segment, 4),
        status: (RESULT_STATUS[value(segment, 25)] as OruOrder['status'] | undefined) ?? 'unknown',
        ...(effective.value ? { effective: effective.value } : {}),
      };
      oru.orders.push(order);
    } else if (segment.name === 'OBX') {
      if (oru.results.length >= MAX_RESULTS) {
        return refused(at(0), HL7_ERROR.segmentSequence, `more than ${MAX_RESULTS} OBX segments`);
      }
      const code = codeableOf(decoded, segment, 3);
      if (!code.coding?.length && !code.text) {
        return refused(at(3), HL7_ERROR.requiredFieldMissing, 'OBX-3 (observation identifier) is empty');
      }
      const effective = time(14);
      if (!effective.ok) return effective;
      const read = readValue(decoded, segment, at);
      if ('problem' in read) {
        if (read.problem.severity === 'W') {
          oru.warnings.push(read.problem);
          continue;
        }
        return { ok: false, problem: read.problem };
      }
      const status = RESULT_STATUS[value(segment, 11)] ?? 'unknown';
      const when = effective.value ?? order?.effective;
      oru.results.push({
        occurrence: n,
        order: order?.occurrence ?? 0,
        code,
        value: read.value,
        status,
        ...(when ? { effective: when } : {}),
      });
    }
  }
  if (!pid) return refused(firstOf('PID', 0), HL7_ERROR.segmentSequence, 'the message has no PID segment');
  if (oru.identifiers.length === 0) {
    return refused(
      firstOf('PID', 3),
      HL7_ERROR.requiredFieldMissing,
      'PID-3 (patient identifier list) is empty',
    );
  }
  if (oru.results.length === 0) {
    return refused(
      firstOf('OBX', 0),
      HL7_ERROR.segmentSequence,
      'the message has no OBX segment with a supported value',
    );
  }
  return { ok: true, oru };
}

type At = (
  field: number,
  component?: number,
  repetition?: number,
) => { segment: string; occurrence: number; field: number };

/** OBX-5 by OBX-2 (value type, Table 0125). */
function readValue(
  decoded: DecodedHl7,
  obx: Hl7Segment,
  at: At,
): { value: ResultValue } | { problem: Hl7Problem } {
  const { value, repetitions } = decoded;
  const type = value(obx, 2).toUpperCase();
  const count = repetitions(obx, 5);
  if (count === 0) return { value: { kind: 'absent' } };
  switch (type) {
    case 'NM': {
      const text = value(obx, 5).trim();
      // NM (v2.5.1 §2A.3.47): optional sign, digits, optional decimal point; no exponent.
      if (!/^[+-]?(?:\d+\.?\d*|\.\d+)$/.test(text) || text.length > 40) {
        return { problem: problem(at(5), HL7_ERROR.dataTypeError, 'OBX-2 is NM but OBX-5 is not a number') };
      }
      const unitCode = value(obx, 6, 1);
      const unitText = value(obx, 6, 2);
      const ucum = value(obx, 6, 3).toUpperCase() === 'UCUM';
      const quantity: Quantity = { value: Number(text) };
      if (unitText || unitCode) quantity.unit = unitText || unitCode;
      if (ucum && unitCode) Object.assign(quantity, { system: 'http://unitsofmeasure.org', code: unitCode });
      return { value: { kind: 'quantity', quantity } };
    }
    case 'ST':
    case 'TX':
    case 'FT': {
      // Repetitions of TX/FT are lines of one text (§2A.3.78, §2A.3.31); FT's \.br\ is unescaped to a line feed.
      const lines: string[] = [];
      for (let r = 1; r <= count; r++) lines.push(value(obx, 5, 1, undefined, r));
      const text = lines.join('\n');
      return text.trim() === '' ? { value: { kind: 'absent' } } : { value: { kind: 'string', text } };
    }
    case 'CE':
    case 'CWE':
      return { value: { kind: 'codeable', concept: codeableOf(decoded, obx, 5) } };
    case 'ED': {
      const type = value(obx, 5, 2);
      const subtype = value(obx, 5, 3);
      const encoding = value(obx, 5, 4).toUpperCase();
      const raw = value(obx, 5, 5);
      let data: string | undefined;
      if (encoding === 'BASE64') {
        const compact = raw.replace(/\s+/g, '');
        data =
          /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(compact) &&
          compact.length > 0
            ? compact
            : undefined;
      } else if (encoding === 'HEX') {
        data = /^(?:[0-9A-Fa-f]{2})+$/.test(raw) ? Buffer.from(raw, 'hex').toString('base64') : undefined;
      } else if (encoding === 'A') {
        data = raw.length > 0 ? Buffer.from(raw, 'utf8').toString('base64') : undefined;
      } else {
        return {
          problem: problem(at(5, 4), HL7_ERROR.tableValueNotFound, 'ED encoding must be Base64, Hex or A'),
        };
      }
      if (data === undefined)
        return { problem: problem(at(5, 5), HL7_ERROR.dataTypeError, 'ED data does not match its encoding') };
      return { value: { kind: 'attachment', attachment: { contentType: mimeOf(type, subtype), data } } };
    }
    case '':
      return {
        problem: problem(
          at(2),
          HL7_ERROR.requiredFieldMissing,
          'OBX-2 (value type) is empty while OBX-5 has a value',
        ),
      };
    default:
      return {
        problem: problem(
          at(2),
          HL7_ERROR.tableValueNotFound,
          'value type not supported (NM, ST, TX, FT, ED, CE, CWE are); OBX skipped',
          'W',
        ),
      };
  }
}

/** A CE/CWE field (§2A.3.8, §2A.3.12) as a CodeableConcept: the identifier and the alternate one. */
function codeableOf(decoded: DecodedHl7, segment: Hl7Segment, field: number): CodeableConcept {
  const { value } = decoded;
  const codings: Coding[] = [];
  for (const base of [1, 4]) {
    const code = value(segment, field, base);
    if (code === '') continue;
    const display = value(segment, field, base + 1);
    const system = CODE_SYSTEMS[value(segment, field, base + 2).toUpperCase()];
    codings.push({ ...(system ? { system } : {}), code, ...(display ? { display } : {}) });
  }
  const text = value(segment, field, 2) || undefined;
  return { ...(codings.length ? { coding: codings } : {}), ...(text ? { text } : {}) };
}
