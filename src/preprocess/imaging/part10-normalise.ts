import { inflateRawSync } from 'node:zlib';
import { fail, ok, type PreprocessResult } from '../result.js';

/** Transfer syntax UIDs (DICOM PS3.5 §10 and Annex A). */
export const TransferSyntaxUid = {
  implicitLittle: '1.2.840.10008.1.2',
  explicitLittle: '1.2.840.10008.1.2.1',
  deflatedExplicitLittle: '1.2.840.10008.1.2.1.99',
  explicitBig: '1.2.840.10008.1.2.2',
  rle: '1.2.840.10008.1.2.5',
  jpegBaseline: '1.2.840.10008.1.2.4.50',
  jpegExtended: '1.2.840.10008.1.2.4.51',
  jpegLossless: '1.2.840.10008.1.2.4.57',
  jpegLosslessSv1: '1.2.840.10008.1.2.4.70',
  jpegLsLossless: '1.2.840.10008.1.2.4.80',
  jpegLsNearLossless: '1.2.840.10008.1.2.4.81',
  jpeg2000Lossless: '1.2.840.10008.1.2.4.90',
  jpeg2000: '1.2.840.10008.1.2.4.91',
  htj2kLossless: '1.2.840.10008.1.2.4.201',
  htj2kLosslessRpcl: '1.2.840.10008.1.2.4.202',
  htj2k: '1.2.840.10008.1.2.4.203',
} as const;

/** A DICOM Part-10 file, ready for `dcmjs`, and its transfer syntax. */
export interface NormalisedPart10 {
  /** Preamble + "DICM" + File Meta Information + data set, never deflated. */
  buffer: ArrayBuffer;
  /** Transfer syntax of the data set as written in `buffer` (deflated input becomes explicit VR LE). */
  transferSyntax: string;
  /** Transfer syntax the input arrived in. */
  originalTransferSyntax: string;
  /** Whether the input lacked the Part-10 preamble and File Meta Information (PS3.10 §7.1). */
  wrapped: boolean;
}

/** Options for {@link normaliseToPart10}. */
export interface NormaliseOptions {
  /** Upper bound on the inflated size of a deflated data set: a zip bomb stops here. */
  maxInflatedBytes: number;
}

const PREAMBLE = 128;
const LONG_LENGTH_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);
const ALL_VRS = new Set([...LONG_LENGTH_VRS, 'AE', 'AS', 'AT', 'CS', 'DA', 'DS', 'DT', 'FD', 'FL', 'IS', 'LO', 'LT', 'PN', 'SH', 'SL', 'SS', 'ST', 'TM', 'UI', 'UL', 'US']);

function ascii(bytes: Uint8Array, start: number, length: number): string {
  return String.fromCharCode(...bytes.subarray(start, start + length));
}

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer
    ? bytes.buffer
    : (bytes.slice().buffer as ArrayBuffer);
}

/**
 * Builds a Part-10 file (PS3.10 §7.1: 128-byte preamble, "DICM", group 0002 in explicit VR little
 * endian) around a bare data set, with the minimum meta elements dcmjs needs to read it.
 */
export function buildPart10(transferSyntax: string, dataset: Uint8Array): ArrayBuffer {
  const uid = transferSyntax.length % 2 === 0 ? transferSyntax : `${transferSyntax}\0`;
  const version = 4 + 2 + 2 + 4 + 2; // (0002,0001) OB: tag, VR, reserved, 4-byte length, 2-byte value
  const syntax = 4 + 2 + 2 + uid.length;
  const groupLength = version + syntax;
  const out = new Uint8Array(PREAMBLE + 4 + 12 + groupLength + dataset.byteLength);
  const view = new DataView(out.buffer);
  out.set([0x44, 0x49, 0x43, 0x4d], PREAMBLE);
  let p = PREAMBLE + 4;
  const tag = (group: number, element: number, vr: string) => {
    view.setUint16(p, group, true);
    view.setUint16(p + 2, element, true);
    out[p + 4] = vr.charCodeAt(0);
    out[p + 5] = vr.charCodeAt(1);
    p += 6;
  };
  tag(0x0002, 0x0000, 'UL');
  view.setUint16(p, 4, true);
  view.setUint32(p + 2, groupLength, true);
  p += 6;
  tag(0x0002, 0x0001, 'OB');
  view.setUint16(p, 0, true);
  view.setUint32(p + 2, 2, true);
  out[p + 6] = 0;
  out[p + 7] = 1;
  p += 8;
  tag(0x0002, 0x0010, 'UI');
  view.setUint16(p, uid.length, true);
  p += 2;
  for (let i = 0; i < uid.length; i++) out[p + i] = uid.charCodeAt(i);
  p += uid.length;
  out.set(dataset, p);
  return out.buffer;
}

/** Reads group 0002 (always explicit VR LE, PS3.10 §7.1) from `start`; returns its end and the syntax. */
function readMeta(bytes: Uint8Array, start: number): { end: number; transferSyntax?: string } | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let p = start;
  let transferSyntax: string | undefined;
  while (p + 8 <= bytes.byteLength) {
    const group = view.getUint16(p, true);
    if (group !== 0x0002) break;
    const element = view.getUint16(p + 2, true);
    const vr = ascii(bytes, p + 4, 2);
    if (!ALL_VRS.has(vr)) return undefined;
    let length: number;
    let header: number;
    if (LONG_LENGTH_VRS.has(vr)) {
      if (p + 12 > bytes.byteLength) return undefined;
      length = view.getUint32(p + 8, true);
      header = 12;
    } else {
      length = view.getUint16(p + 6, true);
      header = 8;
    }
    if (length === 0xffffffff || p + header + length > bytes.byteLength) return undefined;
    if (element === 0x0010) transferSyntax = ascii(bytes, p + header, length).replace(/[\0 ]+$/, '');
    p += header + length;
  }
  return { end: p, ...(transferSyntax ? { transferSyntax } : {}) };
}

/** Guesses the syntax of a bare data set from its first element (PS3.5 §7.1.2 vs §7.1.3). */
function detectBareSyntax(bytes: Uint8Array): string | undefined {
  if (bytes.byteLength < 8) return undefined;
  const group = bytes[0]! | (bytes[1]! << 8);
  // A data set starts with an even group (commonly 0008); a big-endian one reads as 0x0800.
  if (group === 0 || group % 2 !== 0 || group > 0x7fe0) return undefined;
  return ALL_VRS.has(ascii(bytes, 4, 2)) ? TransferSyntaxUid.explicitLittle : TransferSyntaxUid.implicitLittle;
}

/**
 * Accepts what PACS and modalities actually send and returns a canonical Part-10 buffer:
 * a Part-10 file as is; a data set with no preamble/meta (older "raw" files such as ACR-NEMA-era
 * CR, implicit VR little endian) detected and wrapped; a deflated data set (PS3.5 Annex A.5) inflated
 * here with an output cap rather than by dcmjs, whose inflater has no limit.
 */
export function normaliseToPart10(input: Uint8Array, options: NormaliseOptions): PreprocessResult<NormalisedPart10> {
  const bytes = input;
  let metaStart: number | undefined;
  if (bytes.byteLength >= PREAMBLE + 4 && ascii(bytes, PREAMBLE, 4) === 'DICM') metaStart = PREAMBLE + 4;
  else if (bytes.byteLength >= 4 && ascii(bytes, 0, 4) === 'DICM') metaStart = 4;
  if (metaStart === undefined) {
    const syntax = detectBareSyntax(bytes);
    if (!syntax) return fail('unsupported-format', 'not a DICOM file: no Part-10 header and no recognisable data set');
    return ok({ buffer: buildPart10(syntax, bytes), transferSyntax: syntax, originalTransferSyntax: syntax, wrapped: true });
  }
  const meta = readMeta(bytes, metaStart);
  if (!meta) return fail('failed-to-decode', 'malformed File Meta Information (group 0002)');
  if (!meta.transferSyntax) return fail('failed-to-decode', 'File Meta Information has no TransferSyntaxUID (0002,0010)');
  if (meta.transferSyntax === TransferSyntaxUid.deflatedExplicitLittle) {
    let inflated: Buffer;
    try {
      inflated = inflateRawSync(bytes.subarray(meta.end), { maxOutputLength: options.maxInflatedBytes });
    } catch {
      return fail('failed-to-decode', `deflated data set is corrupt or inflates past ${options.maxInflatedBytes} bytes`);
    }
    return ok({
      buffer: buildPart10(TransferSyntaxUid.explicitLittle, inflated),
      transferSyntax: TransferSyntaxUid.explicitLittle,
      originalTransferSyntax: meta.transferSyntax,
      wrapped: false,
    });
  }
  const buffer = metaStart === PREAMBLE + 4 ? toArrayBuffer(bytes) : buildPart10(meta.transferSyntax, bytes.subarray(meta.end));
  return ok({ buffer, transferSyntax: meta.transferSyntax, originalTransferSyntax: meta.transferSyntax, wrapped: metaStart !== PREAMBLE + 4 });
}
