/**
 * Errors reported back in an ACK's ERR segment (HL7 v2.5.1 §2.15.5): where (ERR-2, ERL: segment,
 * its occurrence, field, repetition, component) and what (ERR-3, Table 0357 "Message error
 * condition codes"). Their texts name fields only, never values: they are also logged.
 */

/** HL7 Table 0357 codes fhir-fusion uses. */
export const HL7_ERROR = {
  segmentSequence: '100',
  requiredFieldMissing: '101',
  dataTypeError: '102',
  tableValueNotFound: '103',
  unsupportedMessageType: '200',
  unsupportedEventCode: '201',
  unsupportedProcessingId: '202',
  unsupportedVersionId: '203',
  unknownKeyIdentifier: '204',
  applicationInternalError: '207',
} as const;

/** Display texts of Table 0357, for ERR-3.2. */
export const HL7_ERROR_TEXT: Readonly<Record<string, string>> = {
  '100': 'Segment sequence error',
  '101': 'Required field missing',
  '102': 'Data type error',
  '103': 'Table value not found',
  '200': 'Unsupported message type',
  '201': 'Unsupported event code',
  '202': 'Unsupported processing id',
  '203': 'Unsupported version id',
  '204': 'Unknown key identifier',
  '207': 'Application internal error',
};

/** One problem, located in the message. */
export interface Hl7Problem {
  /** Segment id, e.g. `OBX`. */
  segment: string;
  /** Which occurrence of that segment (1-based). */
  occurrence: number;
  /** Field position (0 when the whole segment is meant). */
  field: number;
  /** Field repetition (1-based), when it matters. */
  repetition?: number;
  /** Component (1-based), when it matters. */
  component?: number;
  /** Table 0357 code. */
  code: (typeof HL7_ERROR)[keyof typeof HL7_ERROR];
  /** `E` error, `W` warning (Table 0516). */
  severity: 'E' | 'W';
  /** What is wrong, naming the field, never quoting its value. */
  text: string;
}

/** `OBX[2]-5.1`: the location written in logs and texts. */
export function locationOf(p: Pick<Hl7Problem, 'segment' | 'occurrence' | 'field' | 'component'>): string {
  return `${p.segment}[${p.occurrence}]${p.field > 0 ? `-${p.field}` : ''}${p.component ? `.${p.component}` : ''}`;
}

/** Builds a problem; the text is prefixed with the location. */
export function problem(
  at: Pick<Hl7Problem, 'segment' | 'occurrence' | 'field' | 'repetition' | 'component'>,
  code: Hl7Problem['code'],
  text: string,
  severity: Hl7Problem['severity'] = 'E',
): Hl7Problem {
  return { ...at, code, severity, text: `${locationOf(at)}: ${text}` };
}
