import { Hl7Message } from '@medplum/core';
import fc from 'fast-check';
import { decodeHl7Message } from '../../src/intake/hl7v2/decode-hl7-message.js';
import { buildAck } from '../../src/intake/hl7v2/hl7-ack.js';
import { createMllpFramer, CR, FS, VT } from '../../src/intake/hl7v2/mllp-framer.js';
import { oruTransaction } from '../../src/intake/hl7v2/oru-to-fhir.js';
import { readOru } from '../../src/intake/hl7v2/read-oru.js';

/** Text with delimiters, escapes, non-ASCII and control characters in it. */
const fieldText = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom(
    '\\F\\',
    '\\S\\',
    '\\T\\',
    '\\R\\',
    '\\E\\',
    '\\X41C3A4\\',
    '\\.br\\',
    '\\H\\x\\N\\',
    '\\',
    '\\Zfoo',
    'a&b',
    'ä€😀',
    '\u0000',
    '\ud800',
    '',
  ),
  fc.string({ unit: 'binary', maxLength: 8 }),
);
const valueType = fc.constantFrom('NM', 'ST', 'TX', 'FT', 'ED', 'CE', 'CWE', 'SN', '', 'XX');
const obxValue = fc.oneof(
  fc.constantFrom(
    '1.5',
    '-3',
    '.5',
    '1e5',
    'abc',
    '^AP^PDF^Base64^JVBERi0=',
    '^TEXT^plain^A^hello',
    '^AP^PDF^Hex^zz',
    'a~b~c',
  ),
  fieldText,
);
const dtm = fc.oneof(
  fc.constantFrom(
    '20260101',
    '202601011230',
    '20260230',
    '20261301',
    '20260101123000.1234+0100',
    '2026010112',
    'x',
  ),
  fc.string({ maxLength: 20 }),
);

/** Mostly `usual`, sometimes `other`: keeps most shaped messages far enough to reach the deep paths. */
const mostly = <T>(usual: fc.Arbitrary<T>, other: fc.Arbitrary<T>): fc.Arbitrary<T> =>
  fc.oneof({ weight: 5, arbitrary: usual }, { weight: 1, arbitrary: other });

/** ORU^R01-shaped messages with random content, then (sometimes) damaged by random byte edits. */
const hl7Messages: fc.Arbitrary<Buffer> = fc
  .record({
    delimiters: mostly(
      fc.constant('|^~\\&'),
      fc.oneof(fc.constant('#$%*!'), fc.string({ minLength: 0, maxLength: 6 })),
    ),
    type: mostly(
      fc.constantFrom('ORU^R01', 'ORU^R01^ORU_R01'),
      fc.oneof(fc.constantFrom('ADT^A01', 'ORU^R30', '', '^'), fieldText),
    ),
    controlId: mostly(fc.constantFrom('M1', 'LAB-2'), fc.oneof(fc.constant(''), fieldText)),
    version: mostly(fc.constantFrom('2.5.1', '2.3'), fc.constantFrom('3.0', '', '2.x')),
    charset: mostly(
      fc.constantFrom('', 'UNICODE UTF-8', '8859/1'),
      fc.constantFrom('8859/2', 'ISO IR192', 'KLINGON', 'GB 18030-2000'),
    ),
    pid: fc.array(
      fc.tuple(
        mostly(fc.constant('MRN1'), fieldText),
        fieldText,
        mostly(fc.constant('URI'), fc.constantFrom('ISO', 'UUID', '', 'X')),
        mostly(fc.constant('https://h.example/mrn'), fieldText),
      ),
      { minLength: 1, maxLength: 3 },
    ),
    obx: fc.array(
      fc.tuple(
        mostly(fc.constantFrom('NM', 'ST', 'TX', 'FT'), valueType),
        mostly(fc.constant('2160-0'), fieldText),
        mostly(
          fc.constantFrom('1.5', '-3', '.5', 'text \\T\\ more', '^AP^PDF^Base64^JVBERi0=', 'l1~l2'),
          obxValue,
        ),
        fieldText,
        fc.constantFrom('F', 'C', 'P', 'X', '', 'Q'),
        mostly(fc.constantFrom('20260101', '20260101123000+0100', ''), dtm),
      ),
      { maxLength: 6 },
    ),
    obrTime: mostly(fc.constant('202601011200'), dtm),
    terminator: fc.constantFrom('\r', '\n', '\r\n'),
    edits: mostly(
      fc.constant([] as Array<[number, number, 'replace' | 'insert' | 'delete' | 'truncate']>),
      fc.array(
        fc.tuple(
          fc.nat(),
          fc.integer({ min: 0, max: 255 }),
          fc.constantFrom('replace', 'insert', 'delete', 'truncate'),
        ),
        { maxLength: 4 },
      ),
    ),
  })
  .map((m) => {
    const segments = [
      `MSH${m.delimiters}|SND|FAC|RCV|FAC|20260101120000||${m.type}|${m.controlId}|P|${m.version}|||||${m.charset}`,
      `PID|1||${m.pid.map(([id, ns, type, uid]) => `${id}^^^${ns}&${uid}&${type}`).join('~')}`,
      `OBR|1|||1^x^LN|||${m.obrTime}`,
      ...m.obx.map(
        ([type, code, value, unit, status, time], i) =>
          `OBX|${i + 1}|${type}|${code}^t^LN||${value}|${unit}^^UCUM|||||${status}|||${time}`,
      ),
    ];
    let bytes = Buffer.from(segments.join(m.terminator), m.charset === '8859/1' ? 'latin1' : 'utf8');
    for (const [at, byte, kind] of m.edits) {
      const i = bytes.length === 0 ? 0 : at % bytes.length;
      if (kind === 'replace' && bytes.length > 0) bytes[i] = byte;
      else if (kind === 'insert')
        bytes = Buffer.concat([bytes.subarray(0, i), Buffer.from([byte]), bytes.subarray(i)]);
      else if (kind === 'delete') bytes = Buffer.concat([bytes.subarray(0, i), bytes.subarray(i + 1)]);
      else bytes = bytes.subarray(0, i);
    }
    return bytes;
  });

/** Any input: shaped messages, random bytes, random bytes behind `MSH|^~\&`. */
export const hl7Inputs: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 4, arbitrary: hl7Messages },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 1024 }).map((b) => Buffer.from(b)) },
  {
    weight: 1,
    arbitrary: fc
      .uint8Array({ maxLength: 512 })
      .map((b) => Buffer.concat([Buffer.from('MSH|^~\\&|'), Buffer.from(b)])),
  },
);

/**
 * The v2 parser's contract: decoding, reading and mapping never throw; every input gets an ACK
 * that `@medplum/core` parses back with MSA-1 AA/AE/AR and MSA-2 the message's control id; a
 * refusal carries an ERR segment; what would be written to the EHR serialises.
 */
export function hl7KeepsContract(bytes: Buffer): boolean {
  const decoded = decodeHl7Message(bytes);
  let ack: string;
  if (!decoded.ok) {
    ack = buildAck(decoded.ack, decoded.header, [decoded.problem]);
    if (!ack.includes('\rERR|')) return false;
  } else {
    const read = readOru(decoded.decoded);
    if (read.ok) {
      const bundle = oruTransaction(read.oru, 'p1', 'key');
      if ((bundle.entry ?? []).length === 0) return false;
      // The Bundle must serialise (it is the body of the EHR write).
      if (typeof JSON.stringify(bundle) !== 'string') return false;
    }
    ack = buildAck(
      read.ok ? 'AA' : 'AE',
      decoded.decoded.header,
      read.ok ? read.oru.warnings : [read.problem],
    );
  }
  const parsed = Hl7Message.parse(ack);
  const code = parsed.getSegment('MSA')?.getField(1)?.toString();
  return ['AA', 'AE', 'AR'].includes(code ?? '') && parsed.segments.every((s) => /^[A-Z]{3}$/.test(s.name));
}

/** Frames of random payloads (no FS inside), as one stream cut at random points. */
const framedStreams = fc
  .record({
    payloads: fc.array(
      fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b.filter((x) => x !== FS))),
      { maxLength: 6 },
    ),
    cuts: fc.array(fc.nat(), { maxLength: 8 }),
    lineFeeds: fc.boolean(),
  })
  .map(({ payloads, cuts, lineFeeds }) => {
    const stream = Buffer.concat(
      payloads.map((p) =>
        Buffer.concat([Buffer.from([VT]), p, Buffer.from(lineFeeds ? [FS, CR, 0x0a] : [FS, CR])]),
      ),
    );
    const points = [...new Set(cuts.map((c) => (stream.length === 0 ? 0 : c % stream.length)))].sort(
      (a, b) => a - b,
    );
    const chunks: Buffer[] = [];
    let last = 0;
    for (const p of [...points, stream.length]) {
      chunks.push(stream.subarray(last, p));
      last = p;
    }
    return { payloads, chunks };
  });

/** Random bytes in which about one in seven is an MLLP control byte (VT, FS, CR, LF). */
const controlHeavyChunk = fc
  .uint8Array({ maxLength: 200 })
  .map((b) => Buffer.from(Array.from(b, (x) => (x % 7 === 0 ? [VT, FS, CR, 0x0a][x % 4]! : x))));

/**
 * The framer's contract: a well-framed stream cut anywhere yields exactly its payloads; any byte
 * stream in any cutting never throws, never holds more than the limit, and once broken stays broken.
 */
export const framerProperties = {
  'mllp-framer-roundtrip': fc.property(framedStreams, ({ payloads, chunks }) => {
    const framer = createMllpFramer(1024);
    const frames: Buffer[] = [];
    for (const chunk of chunks) {
      const out = framer.push(chunk);
      if (out.error) return false;
      frames.push(...out.frames);
    }
    return (
      !framer.inFrame && frames.length === payloads.length && frames.every((f, i) => f.equals(payloads[i]!))
    );
  }),
  'mllp-framer-any-bytes': fc.property(
    fc.tuple(fc.array(controlHeavyChunk, { maxLength: 10 }), fc.integer({ min: 1, max: 256 })),
    ([chunks, limit]) => {
      const framer = createMllpFramer(limit);
      let broken = false;
      for (const chunk of chunks) {
        const out = framer.push(chunk);
        if (broken && !out.error) return false;
        if (out.error) broken = true;
        if (framer.bufferedBytes > limit || out.frames.some((f) => f.length > limit)) return false;
      }
      return true;
    },
  ),
};
