import { describe, expect, it } from 'vitest';
import { decodeHl7Message } from '../../../src/intake/hl7v2/decode-hl7-message.js';
import type { DecodedHl7 } from '../../../src/intake/hl7v2/decode-hl7-message.js';
import { buildAck } from '../../../src/intake/hl7v2/hl7-ack.js';
import { hl7TimeToFhir } from '../../../src/intake/hl7v2/hl7-time.js';
import { readOru } from '../../../src/intake/hl7v2/read-oru.js';
import type { OruMessage } from '../../../src/intake/hl7v2/read-oru.js';
import { identifierSystemOf } from '../../../src/intake/hl7v2/resolve-patient.js';

const MSH = (extra = '', delimiters = '|^~\\&'): string =>
  `MSH${delimiters}|LAB|H|FUSION|H|20260101120000+0100||ORU^R01^ORU_R01|M1|P|2.5.1${extra}`;

function decode(text: string | Buffer): DecodedHl7 {
  const result = decodeHl7Message(typeof text === 'string' ? Buffer.from(text, 'utf8') : text);
  if (!result.ok) throw new Error(result.problem.text);
  return result.decoded;
}

function oru(text: string): OruMessage {
  const read = readOru(decode(text));
  if (!read.ok) throw new Error(read.problem.text);
  return read.oru;
}

describe('HL7 v2 decoding (src/intake/hl7v2)', () => {
  it('unescapes \\F\\ \\S\\ \\T\\ \\R\\ \\E\\, hex and FT line breaks after splitting, so escaped delimiters never split', () => {
    const message = oru(
      [
        MSH(),
        'PID|1||A\\S\\1^^^X&urn:x:y&URI',
        'OBX|1|FT|1^a^LN||p\\F\\q\\S\\r\\T\\s\\R\\t\\E\\u\\.br\\line2 \\X41C3\\ \\H\\bold\\N\\||||||F',
      ].join('\r'),
    );
    expect(message.identifiers[0]?.value).toBe('A^1');
    expect(message.results[0]?.value).toEqual({ kind: 'string', text: 'p|q^r&s~t\\u\nline2 AÃ bold' });
  });

  it('reads repetitions: every PID-3 identifier, and TX repetitions as lines', () => {
    const message = oru(
      [
        MSH(),
        'PID|1||111^^^A&urn:oid:1.2&URI~222^^^B&1.2.3&ISO',
        'OBX|1|TX|1^a^LN||one~two~three||||||F',
      ].join('\r'),
    );
    expect(message.identifiers.map((i) => [i.value, identifierSystemOf(i, {})])).toEqual([
      ['111', 'urn:oid:1.2'],
      ['222', 'urn:oid:1.2.3'],
    ]);
    expect(message.results[0]?.value).toEqual({ kind: 'string', text: 'one\ntwo\nthree' });
  });

  it('reads a message with other delimiters (MSH-1/MSH-2) exactly like one with the recommended ones', () => {
    const standard = oru(
      [MSH(), 'PID|1||7^^^X&urn:x&URI', 'OBX|1|NM|2160-0^Cr^LN||1.2|mg/dL^mg/dL^UCUM|||||F'].join('\r'),
    );
    const other = oru(
      [
        MSH('', '#$%*!').replaceAll('|', '#').replace('ORU^R01^ORU_R01', 'ORU$R01$ORU_R01'),
        'PID#1##7$$$X!urn:x!URI',
        'OBX#1#NM#2160-0$Cr$LN##1.2#mg/dL$mg/dL$UCUM#####F',
      ].join('\r'),
    );
    expect(other.results).toEqual(standard.results);
    expect(other.identifiers).toEqual(standard.identifiers);
  });

  it('decodes by MSH-18: 8859/1 bytes read as Latin-1; the same bytes undeclared are refused (AE on MSH-18), as is an unknown set', () => {
    const body = (charset: string): Buffer =>
      Buffer.from(
        [MSH(`||||||${charset}`), 'PID|1||7^^^X&urn:x&URI', 'OBX|1|ST|1^a^LN||Müller||||||F'].join('\r'),
        'latin1',
      );
    const latin = readOru(decode(body('8859/1')));
    expect(latin.ok && latin.oru.results[0]?.value).toEqual({ kind: 'string', text: 'Müller' });
    const undeclared = decodeHl7Message(body(''));
    expect(
      undeclared.ok ? undefined : [undeclared.ack, undeclared.problem.field, undeclared.problem.code],
    ).toEqual(['AE', 18, '102']);
    const unknown = decodeHl7Message(body('KLINGON'));
    expect(unknown.ok ? undefined : [unknown.ack, unknown.problem.field, unknown.problem.code]).toEqual([
      'AE',
      18,
      '103',
    ]);
  });

  it('refuses what it cannot read with AR (no MSH, bad delimiters, other message types or versions) and bad content with AE naming the field', () => {
    const refused = (text: string): unknown => {
      const r = decodeHl7Message(Buffer.from(text));
      return r.ok ? undefined : [r.ack, `${r.problem.segment}-${r.problem.field}`, r.problem.code];
    };
    expect(refused('PID|1||x')).toEqual(['AR', 'MSH-0', '100']);
    expect(refused('MSH|^^\\&|A|B')).toEqual(['AR', 'MSH-2', '102']);
    expect(refused(MSH().replace('ORU^R01^ORU_R01', 'ADT^A01'))).toEqual(['AR', 'MSH-9', '200']);
    expect(refused(MSH().replace('ORU^R01^ORU_R01', 'ORU^R30'))).toEqual(['AR', 'MSH-9', '201']);
    expect(refused(MSH().replace('|2.5.1', '|3.0'))).toEqual(['AR', 'MSH-12', '203']);
    expect(refused(MSH().replace('|M1|', '||'))).toEqual(['AE', 'MSH-10', '101']);
    const bad = readOru(
      decode([MSH(), 'PID|1||7^^^X&urn:x&URI', 'OBX|1|NM|1^a^LN||1.2.3||||||F'].join('\r')),
    );
    expect(bad.ok ? undefined : bad.problem.text).toBe('OBX[1]-5: OBX-2 is NM but OBX-5 is not a number');
  });

  it('writes an ACK with the delimiters escaped in echoed values and one ERR per problem', () => {
    const decoded = decode([MSH().replace('|LAB|', '|L\\F\\AB|'), 'PID|1||7'].join('\r'));
    const ack = buildAck('AE', decoded.header, [
      {
        segment: 'PID',
        occurrence: 1,
        field: 3,
        component: 4,
        code: '204',
        severity: 'E',
        text: 'PID[1]-3.4: no system',
      },
    ]);
    const [msh, msa, err] = ack.split('\r');
    expect(msh).toMatch(
      /^MSH\|\^~\\&\|FUSION\|H\|L\\F\\AB\|H\|\d{14}\+0000\|\|ACK\^R01\^ACK\|\w+\|P\|2\.5\.1$/,
    );
    expect(msa).toBe('MSA|AE|M1|PID[1]-3.4: no system');
    expect(err).toBe('ERR||PID^1^3^^4|204^Unknown key identifier^HL70357|E||||PID[1]-3.4: no system');
  });

  it('converts DTM to FHIR dateTime with the message offset as default and refuses impossible dates', () => {
    expect(hl7TimeToFhir('2026')).toBe('2026');
    expect(hl7TimeToFhir('20260315')).toBe('2026-03-15');
    expect(hl7TimeToFhir('202603151230', '+0100')).toBe('2026-03-15T12:30:00+01:00');
    expect(hl7TimeToFhir('20260315123045.12-0500')).toBe('2026-03-15T12:30:45.12-05:00');
    expect(hl7TimeToFhir('20260230')).toBeUndefined();
    expect(hl7TimeToFhir('2026031525')).toBeUndefined();
  });
});

describe('HL7 v2 ACK character set', () => {
  it('declares MSH-18 UNICODE UTF-8 when an echoed value is not ASCII, and leaves it empty otherwise', () => {
    const latin = decodeHl7Message(
      Buffer.from(`${MSH('||||||8859/1').replace('|LAB|', '|LABÖ|')}\rPID|1||7`, 'latin1'),
    );
    if (!latin.ok) throw new Error(latin.problem.text);
    const ack = buildAck('AA', latin.decoded.header).split('\r')[0]!;
    expect(ack.split('|')[4]).toBe('LABÖ');
    expect(ack.split('|')[17]).toBe('UNICODE UTF-8');
    expect(
      buildAck('AA', decode(`${MSH()}\rPID|1||7`).header)
        .split('\r')[0]!
        .split('|'),
    ).toHaveLength(12);
  });
});
