import type { DcmjsDataset, Part10Reader } from './dcmjs-reader.js';
import { firstString, toDicomJson, type DicomJsonDataset } from './dicom-json.js';

/** Transfer syntaxes whose Pixel Data is native, not encapsulated (PS3.5 §A.1–A.5). */
const NATIVE_TRANSFER_SYNTAXES = new Set([
  '1.2.840.10008.1.2', // Implicit VR Little Endian
  '1.2.840.10008.1.2.1', // Explicit VR Little Endian
  '1.2.840.10008.1.2.1.99', // Deflated Explicit VR Little Endian
  '1.2.840.10008.1.2.2', // Explicit VR Big Endian (retired)
]);

/**
 * Media type of one frame in a compressed transfer syntax (DICOM PS3.18 §8.7.3.3.2, Table 8.7.3-2).
 * Syntaxes not listed (e.g. video) are not retrievable frame by frame here.
 */
const FRAME_MEDIA_TYPES: Record<string, string> = {
  '1.2.840.10008.1.2.4.50': 'image/jpeg',
  '1.2.840.10008.1.2.4.51': 'image/jpeg',
  '1.2.840.10008.1.2.4.57': 'image/jpeg',
  '1.2.840.10008.1.2.4.70': 'image/jpeg',
  '1.2.840.10008.1.2.4.80': 'image/jls',
  '1.2.840.10008.1.2.4.81': 'image/jls',
  '1.2.840.10008.1.2.4.90': 'image/jp2',
  '1.2.840.10008.1.2.4.91': 'image/jp2',
  '1.2.840.10008.1.2.4.92': 'image/jpx',
  '1.2.840.10008.1.2.4.93': 'image/jpx',
  '1.2.840.10008.1.2.4.201': 'image/jphc',
  '1.2.840.10008.1.2.4.202': 'image/jphc',
  '1.2.840.10008.1.2.4.203': 'image/jphc',
  '1.2.840.10008.1.2.5': 'image/dicom-rle',
};

/** One stored SOP instance: the original Part-10 bytes plus what the server indexes and serves. */
export interface StoredInstance {
  studyInstanceUid: string;
  seriesInstanceUid: string;
  sopInstanceUid: string;
  sopClassUid: string;
  transferSyntaxUid: string;
  /** The Part-10 file exactly as received, so WADO-RS returns it byte for byte. */
  bytes: Buffer;
  /** DICOM JSON of the dataset; top-level binary attributes are placeholders without a value. */
  dataset: DicomJsonDataset;
  /** Top-level binary attributes (tag → bytes), served through BulkDataURI. */
  bulkData: Map<string, Buffer>;
  /** Pixel Data frames in stored form, or undefined when the instance has no frame-addressable pixel data. */
  frames: Buffer[] | undefined;
  /** Media type of one frame: `application/octet-stream` for native syntaxes, else Table 8.7.3-2's type. */
  frameMediaType: string | undefined;
}

/** Why a Part-10 payload could not be stored; `failureReason` is the PS3.18 §10.5.3 / PS3.4 code. */
export interface InstanceParseFailure {
  ok: false;
  /** 0xC000 "cannot understand"; 0xA900 dataset does not match. */
  failureReason: number;
  message: string;
  sopClassUid?: string;
  sopInstanceUid?: string;
}

/** Parse result for one STOW-RS part. */
export type InstanceParseResult = { ok: true; value: StoredInstance } | InstanceParseFailure;

/** PS3.4 §B.2.3: "Error: Cannot understand". */
export const FAILURE_CANNOT_UNDERSTAND = 0xc000;

/**
 * Parses one DICOM Part-10 file (PS3.10 §7.1) and indexes what QIDO/WADO need. Never throws: a
 * payload dcmjs cannot read, or one missing the required UIDs, is a typed failure.
 */
export function parsePart10Instance(bytes: Buffer, reader: Part10Reader): InstanceParseResult {
  let meta: DcmjsDataset;
  let dict: DcmjsDataset;
  try {
    ({ meta, dict } = reader.read(bytes));
  } catch (error) {
    return {
      ok: false,
      failureReason: FAILURE_CANNOT_UNDERSTAND,
      message: `not a readable DICOM Part-10 file: ${(error as Error).message}`,
    };
  }
  const dataset = toDicomJson(dict);
  const transferSyntaxUid = stringValue(meta['00020010']?.Value?.[0]);
  const studyInstanceUid = firstString(dataset, '0020000D');
  const seriesInstanceUid = firstString(dataset, '0020000E');
  const sopInstanceUid = firstString(dataset, '00080018') ?? stringValue(meta['00020003']?.Value?.[0]);
  const sopClassUid = firstString(dataset, '00080016') ?? stringValue(meta['00020002']?.Value?.[0]);
  if (!transferSyntaxUid || !studyInstanceUid || !seriesInstanceUid || !sopInstanceUid || !sopClassUid) {
    const missing = [
      ['TransferSyntaxUID (0002,0010)', transferSyntaxUid],
      ['StudyInstanceUID (0020,000D)', studyInstanceUid],
      ['SeriesInstanceUID (0020,000E)', seriesInstanceUid],
      ['SOPInstanceUID (0008,0018)', sopInstanceUid],
      ['SOPClassUID (0008,0016)', sopClassUid],
    ]
      .filter(([, value]) => !value)
      .map(([name]) => name);
    return {
      ok: false,
      failureReason: FAILURE_CANNOT_UNDERSTAND,
      message: `missing required attributes: ${missing.join(', ')}`,
      ...(sopClassUid ? { sopClassUid } : {}),
      ...(sopInstanceUid ? { sopInstanceUid } : {}),
    };
  }
  const bulkData = new Map<string, Buffer>();
  for (const [tag, element] of Object.entries(dict)) {
    if (tag === '7FE00010' || !(tag.toUpperCase() in dataset) || dataset[tag.toUpperCase()]?.Value) continue;
    const buffers = (element.Value ?? []).filter((v): v is ArrayBuffer => v instanceof ArrayBuffer);
    if (buffers.length) bulkData.set(tag.toUpperCase(), Buffer.concat(buffers.map((b) => Buffer.from(b))));
  }
  const pixel = extractFrames(dict, dataset, transferSyntaxUid);
  if (pixel.frames) bulkData.set('7FE00010', Buffer.concat(pixel.frames));
  return {
    ok: true,
    value: {
      studyInstanceUid,
      seriesInstanceUid,
      sopInstanceUid,
      sopClassUid,
      transferSyntaxUid,
      bytes,
      dataset,
      bulkData,
      frames: pixel.frames,
      frameMediaType: pixel.mediaType,
    },
  };
}

function stringValue(value: unknown): string | undefined {
  return typeof value === 'string' && value ? value.trim() : undefined;
}

/**
 * Frames of 1-bit pixel data (a BINARY Segmentation, PS3.3 C.8.20.2.1): frames follow each other
 * bit by bit without padding (PS3.5 §8.1.1), so a frame that starts inside a byte is shifted out
 * into bytes of its own, first pixel in the least significant bit; `undefined` when too short.
 */
function bitFrames(all: Buffer, frameBits: number, numberOfFrames: number): Buffer[] | undefined {
  if (frameBits * numberOfFrames > all.length * 8) return undefined;
  return Array.from({ length: numberOfFrames }, (_, f) => {
    const out = Buffer.alloc(Math.ceil(frameBits / 8));
    const start = f * frameBits;
    for (let i = 0; i < frameBits; i++) {
      const bit = start + i;
      if ((all[bit >> 3]! >> (bit & 7)) & 1) out[i >> 3]! |= 1 << (i & 7);
    }
    return out;
  });
}

/**
 * Splits Pixel Data (7FE0,0010) into frames. Native: fixed-size slices of Rows × Columns ×
 * SamplesPerPixel × BitsAllocated/8 (PS3.5 §8.1.1). Encapsulated (PS3.5 §A.4): dcmjs groups
 * fragments by the Basic Offset Table when there is one; without it, one frame of a single-frame
 * image may span all fragments, and otherwise each fragment is one frame.
 */
function extractFrames(
  dict: DcmjsDataset,
  dataset: DicomJsonDataset,
  transferSyntaxUid: string,
): { frames: Buffer[] | undefined; mediaType: string | undefined } {
  const pixel = dict['7FE00010'];
  const values = (pixel?.Value ?? []).filter((v): v is ArrayBuffer => v instanceof ArrayBuffer);
  if (!values.length) return { frames: undefined, mediaType: undefined };
  const numberOfFrames = Math.max(1, Number(firstString(dataset, '00280008') ?? '1') || 1);
  if (NATIVE_TRANSFER_SYNTAXES.has(transferSyntaxUid)) {
    const rows = Number(firstString(dataset, '00280010'));
    const columns = Number(firstString(dataset, '00280011'));
    const samples = Number(firstString(dataset, '00280002') ?? '1');
    const bitsAllocated = Number(firstString(dataset, '00280100'));
    const all = Buffer.concat(values.map((v) => Buffer.from(v)));
    if (rows && columns && samples && bitsAllocated === 1)
      return {
        frames: bitFrames(all, rows * columns * samples, numberOfFrames),
        mediaType: 'application/octet-stream',
      };
    if (!rows || !columns || !samples || !bitsAllocated || bitsAllocated % 8 !== 0) {
      return { frames: undefined, mediaType: undefined };
    }
    const frameSize = rows * columns * samples * (bitsAllocated / 8);
    if (frameSize * numberOfFrames > all.length) return { frames: undefined, mediaType: undefined };
    const frames = Array.from({ length: numberOfFrames }, (_, i) =>
      all.subarray(i * frameSize, (i + 1) * frameSize),
    );
    return { frames, mediaType: 'application/octet-stream' };
  }
  const mediaType = FRAME_MEDIA_TYPES[transferSyntaxUid];
  if (!mediaType) return { frames: undefined, mediaType: undefined };
  const buffers = values.map((v) => Buffer.from(v));
  if (buffers.length === numberOfFrames) return { frames: buffers, mediaType };
  if (numberOfFrames === 1) return { frames: [Buffer.concat(buffers)], mediaType };
  return { frames: undefined, mediaType: undefined };
}
