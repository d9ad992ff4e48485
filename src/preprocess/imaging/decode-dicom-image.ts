import { fail, ok, type PreprocessResult } from '../result.js';
import type { CompressedFrameDecoder, FrameDescription } from './compressed-frame-decoder.js';
import { binaryAt, loadDcmjs, numberAt, readDicomDataset, sequenceAt, stringAt, type DicomDataset, type LibraryMessageSink } from './dicom-dataset.js';
import { normaliseToPart10, TransferSyntaxUid } from './part10-normalise.js';
import { decodeRleFrame } from './rle-decode.js';
import { walkDataset } from './walk-dataset.js';

/** A VOI LUT (PS3.3 C.11.2.1.1): output = data[clamp(value - firstMapped)], scaled by 2^bits - 1. */
export interface VoiLut {
  firstMapped: number;
  bits: number;
  data: Float32Array;
}

/** One decoded greyscale frame, in modality values (after the Modality LUT rescale). */
export interface DecodedImage {
  width: number;
  height: number;
  /** Row-major modality values: stored value × RescaleSlope + RescaleIntercept (PS3.3 C.11.1). */
  pixels: Float32Array;
  /** MONOCHROME1, MONOCHROME2, or RGB (RGB and YBR_FULL frames are reduced to luma in `pixels`). */
  photometric: string;
  windowCenter?: number;
  windowWidth?: number;
  /** VOI LUT Function (0028,1056): LINEAR (default), LINEAR_EXACT or SIGMOID. */
  voiLutFunction?: string;
  voiLut?: VoiLut;
  rescaleSlope: number;
  rescaleIntercept: number;
  bitsStored: number;
  /** Pixel Padding Value (0028,0120) in modality values, to exclude from min/max windowing. */
  paddingValue?: number;
  transferSyntax: string;
  modality?: string;
  bodyPartExamined?: string;
  viewPosition?: string;
}

/** Limits and codecs for {@link decodeDicomImage}. */
export interface DecodeLimits {
  /** Frames with more than Rows × Columns pixels are refused before any decoding. */
  maxPixels: number;
  /** Cap on a deflated data set's inflated size; default 8 bytes per allowed pixel + 16 MiB. */
  maxInflatedBytes?: number;
  /** Decoder for JPEG/JPEG-LS/JPEG 2000 frames; without it those syntaxes are `unsupported-format`. */
  codecs?: CompressedFrameDecoder;
  /** Receives what dcmjs would have printed (it never reaches the console). */
  onLibraryMessage?: LibraryMessageSink;
}

/** Tags of the Image Pixel, Modality LUT, VOI LUT and General Series modules (PS3.3 C.7.6.3, C.11). */
const Tag = {
  modality: '00080060',
  bodyPart: '00180015',
  viewPosition: '00185101',
  samplesPerPixel: '00280002',
  photometric: '00280004',
  planarConfiguration: '00280006',
  numberOfFrames: '00280008',
  rows: '00280010',
  columns: '00280011',
  bitsAllocated: '00280100',
  bitsStored: '00280101',
  pixelRepresentation: '00280103',
  paddingValue: '00280120',
  windowCenter: '00281050',
  windowWidth: '00281051',
  rescaleIntercept: '00281052',
  rescaleSlope: '00281053',
  voiLutFunction: '00281056',
  voiLutSequence: '00283010',
  lutDescriptor: '00283002',
  lutData: '00283006',
  pixelData: '7FE00010',
} as const;

const NATIVE = new Set<string>([TransferSyntaxUid.implicitLittle, TransferSyntaxUid.explicitLittle]);

function frameDescription(ds: DicomDataset): PreprocessResult<FrameDescription> {
  const rows = numberAt(ds, Tag.rows);
  const columns = numberAt(ds, Tag.columns);
  const bitsAllocated = numberAt(ds, Tag.bitsAllocated);
  if (!rows || !columns) return fail('invalid-value', 'Rows (0028,0010) or Columns (0028,0011) missing or zero');
  if (bitsAllocated !== 8 && bitsAllocated !== 16) return fail('unsupported-format', `BitsAllocated (0028,0100) ${bitsAllocated ?? 'missing'} is not 8 or 16`);
  const bitsStored = numberAt(ds, Tag.bitsStored) ?? bitsAllocated;
  if (bitsStored < 1 || bitsStored > bitsAllocated) return fail('invalid-value', 'BitsStored (0028,0101) out of range');
  const samplesPerPixel = numberAt(ds, Tag.samplesPerPixel) ?? 1;
  if (samplesPerPixel !== 1 && samplesPerPixel !== 3) return fail('unsupported-format', `SamplesPerPixel (0028,0002) ${samplesPerPixel}`);
  return ok({
    rows,
    columns,
    bitsAllocated,
    bitsStored,
    samplesPerPixel,
    pixelRepresentation: numberAt(ds, Tag.pixelRepresentation) ?? 0,
    planarConfiguration: numberAt(ds, Tag.planarConfiguration) ?? 0,
    photometric: (stringAt(ds, Tag.photometric) ?? (samplesPerPixel === 1 ? 'MONOCHROME2' : 'RGB')).toUpperCase(),
  });
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(parts.reduce((s, p) => s + p.byteLength, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  return out;
}

/** The first frame's bytes, decoded to native little-endian, interleaved samples. */
function firstFrameBytes(ds: DicomDataset, ts: string, frame: FrameDescription, codecs: CompressedFrameDecoder | undefined): PreprocessResult<{ bytes: Uint8Array; photometric: string; interleaved: boolean }> {
  const values = binaryAt(ds, Tag.pixelData);
  if (values.length === 0) return fail('invalid-value', 'PixelData (7FE0,0010) missing');
  const bytesPerSample = frame.bitsAllocated / 8;
  const frameBytes = frame.rows * frame.columns * frame.samplesPerPixel * bytesPerSample;
  if (NATIVE.has(ts)) {
    const data = concat(values);
    // Native pixel data holds exactly Rows × Columns × Samples × BitsAllocated/8 × NumberOfFrames
    // bytes, plus one padding byte when that is odd (PS3.5 §8.1.1, §7.1.1: values have even length).
    // Fewer means a truncated transfer; more means the header does not describe the data. Either
    // way the pixels would be guessed (zero-filled or misaligned), so the image is refused.
    const frames = Math.max(1, numberAt(ds, Tag.numberOfFrames) ?? 1);
    const expected = frameBytes * frames;
    const allowed = expected + (expected % 2);
    if (data.byteLength < expected) return fail('invalid-value', `PixelData (7FE0,0010) is truncated: ${data.byteLength} bytes, Rows×Columns×SamplesPerPixel×BitsAllocated/8×NumberOfFrames needs ${expected}`);
    if (data.byteLength > allowed) return fail('invalid-value', `PixelData (7FE0,0010) is over-long: ${data.byteLength} bytes, Rows×Columns×SamplesPerPixel×BitsAllocated/8×NumberOfFrames needs ${expected}`);
    return ok({ bytes: data.subarray(0, frameBytes), photometric: frame.photometric, interleaved: frame.planarConfiguration !== 1 });
  }
  const frames = numberAt(ds, Tag.numberOfFrames) ?? 1;
  // PS3.5 A.4: with one frame every fragment belongs to it; with several, dcmjs returns one value
  // per frame when the Basic Offset Table lets it group fragments.
  let encoded: Uint8Array;
  if (frames <= 1) encoded = concat(values);
  else if (values.length === frames) encoded = values[0]!;
  else return fail('unsupported-format', 'multi-frame encapsulated pixel data without frame boundaries');
  if (ts === TransferSyntaxUid.rle) {
    const decoded = decodeRleFrame(encoded, frame.rows, frame.columns, bytesPerSample, frame.samplesPerPixel);
    // RLE output is always colour-by-pixel (PS3.5 G.2), whatever PlanarConfiguration says.
    return decoded.ok ? ok({ bytes: decoded.value, photometric: frame.photometric, interleaved: true }) : decoded;
  }
  if (!codecs?.supports(ts)) return fail('unsupported-format', `transfer syntax ${ts} has no decoder here`);
  try {
    const decoded = codecs.decode(ts, encoded, frame);
    if (decoded.bytes.byteLength < frameBytes) return fail('failed-to-decode', `decoder returned ${decoded.bytes.byteLength} bytes, expected ${frameBytes}`);
    // The WASM codecs hand back colour-by-pixel data.
    return ok({ ...decoded, interleaved: true });
  } catch {
    return fail('failed-to-decode', `compressed frame (${ts}) could not be decoded`);
  }
}

/** Stored values → modality values, honouring BitsStored and sign (PS3.5 §8.1.1, PS3.3 C.7.6.3.1). */
function toModalityValues(bytes: Uint8Array, frame: FrameDescription, photometric: string, interleaved: boolean, slope: number, intercept: number): Float32Array {
  const n = frame.rows * frame.columns;
  const out = new Float32Array(n);
  const signed = frame.pixelRepresentation === 1;
  const shift = 32 - frame.bitsStored;
  const mask = frame.bitsStored >= 32 ? 0xffffffff : 2 ** frame.bitsStored - 1;
  if (frame.samplesPerPixel === 1) {
    // Fast path: a typed view (copying only when the bytes are not 2-byte aligned), one pass.
    let samples: Uint8Array | Uint16Array | Int8Array | Int16Array;
    if (frame.bitsAllocated === 16) {
      const aligned = bytes.byteOffset % 2 === 0 ? bytes : bytes.slice();
      samples = signed ? new Int16Array(aligned.buffer, aligned.byteOffset, n) : new Uint16Array(aligned.buffer, aligned.byteOffset, n);
    } else samples = signed ? new Int8Array(bytes.buffer, bytes.byteOffset, n) : bytes.subarray(0, n);
    const needsMask = frame.bitsStored < frame.bitsAllocated;
    if (!needsMask) {
      for (let i = 0; i < n; i++) out[i] = samples[i]! * slope + intercept;
    } else if (signed) {
      for (let i = 0; i < n; i++) out[i] = ((samples[i]! << shift) >> shift) * slope + intercept;
    } else {
      for (let i = 0; i < n; i++) out[i] = (samples[i]! & mask) * slope + intercept;
    }
    return out;
  }
  const readSample = frame.bitsAllocated === 16
    ? (i: number) => bytes[2 * i]! | (bytes[2 * i + 1]! << 8)
    : (i: number) => bytes[i]!;
  const stored = (raw: number) => (signed ? (raw << shift) >> shift : raw & mask);
  // Colour: RGB becomes ITU-R BT.601 luma; YBR_FULL already carries luma as its Y sample.
  const planeStride = interleaved ? 1 : n;
  const sampleStride = interleaved ? 3 : 1;
  const ybr = photometric === 'YBR_FULL';
  for (let i = 0; i < n; i++) {
    const base = i * sampleStride;
    const r = stored(readSample(base));
    if (ybr) {
      out[i] = r * slope + intercept;
      continue;
    }
    const g = stored(readSample(base + planeStride));
    const b = stored(readSample(base + 2 * planeStride));
    out[i] = 0.299 * r + 0.587 * g + 0.114 * b;
  }
  return out;
}

function readVoiLut(ds: DicomDataset): VoiLut | undefined {
  const item = sequenceAt(ds, Tag.voiLutSequence)[0];
  if (!item) return undefined;
  const entries = numberAt(item, Tag.lutDescriptor, 0);
  const firstMapped = numberAt(item, Tag.lutDescriptor, 1);
  const bits = numberAt(item, Tag.lutDescriptor, 2);
  if (entries === undefined || firstMapped === undefined || !bits) return undefined;
  const count = entries === 0 ? 65536 : entries; // PS3.3 C.11.1.1.1: 0 means 2^16 entries
  const raw = item[Tag.lutData]?.Value ?? [];
  let data: Float32Array;
  if (raw.every((v) => typeof v === 'number')) data = Float32Array.from(raw as number[]);
  else {
    const bytes = concat(binaryAt(item, Tag.lutData));
    const n = Math.floor(bytes.byteLength / 2);
    data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = bytes[2 * i]! | (bytes[2 * i + 1]! << 8);
  }
  if (data.length < count) return undefined;
  return { firstMapped, bits, data: data.subarray(0, count) };
}

/**
 * Decodes the first frame of a DICOM image into modality values. Accepts Part-10 files, bare
 * data sets (no preamble), deflated data sets (inflated with a cap), native little-endian pixel
 * data, RLE Lossless (decoded here, PS3.5 Annex G) and — with `limits.codecs` — JPEG, JPEG-LS,
 * JPEG 2000 and HTJ2K. Rows × Columns are checked against `limits.maxPixels` before any pixel
 * is decoded. Never throws: bad input becomes `{ ok: false, reason, detail }`.
 */
export function decodeDicomImage(bytes: Uint8Array, limits: DecodeLimits): PreprocessResult<DecodedImage> {
  try {
    return decode(bytes, limits);
  } catch {
    // dcmjs and the codecs throw on malformed input in places we cannot pre-check.
    return fail('failed-to-decode', 'DICOM image could not be decoded');
  }
}

function decode(bytes: Uint8Array, limits: DecodeLimits): PreprocessResult<DecodedImage> {
  const part10 = normaliseToPart10(bytes, { maxInflatedBytes: limits.maxInflatedBytes ?? limits.maxPixels * 8 + 16 * 1024 * 1024 });
  if (!part10.ok) return part10;
  const ts = part10.value.transferSyntax;
  if (ts === TransferSyntaxUid.explicitBig) return fail('unsupported-format', 'Explicit VR Big Endian (retired, PS3.5 A.3) is not supported');
  // Check the element structure before dcmjs reads it: a truncated PixelData element or bytes that
  // are not elements after it are refused by name, in one pass over the headers.
  const walk = walkDataset(part10.value.buffer, ts !== TransferSyntaxUid.implicitLittle);
  if (walk.pixelData?.overruns) {
    return fail('invalid-value', `PixelData (7FE0,0010) is truncated: the element declares ${walk.pixelData.declaredLength ?? 0} bytes, the file ends after ${walk.size - walk.pixelData.valueOffset}`);
  }
  if (walk.malformedAt !== undefined) {
    if (walk.pixelData && walk.malformedAt >= walk.pixelData.end) {
      return fail('failed-to-decode', `${walk.size - walk.pixelData.end} trailing bytes after PixelData (7FE0,0010) are not DICOM data elements`);
    }
    return fail('failed-to-decode', `malformed data element at byte offset ${walk.malformedAt} (PS3.5 §7.1)`);
  }
  const parsed = readDicomDataset(part10.value.buffer, loadDcmjs(), limits.onLibraryMessage);
  if (!parsed.ok) return parsed;
  const ds = parsed.value;
  const described = frameDescription(ds);
  if (!described.ok) return described;
  const frame = described.value;
  if (frame.rows * frame.columns > limits.maxPixels) {
    return fail('unsupported-format', `frame ${frame.columns}×${frame.rows} exceeds the ${limits.maxPixels}-pixel limit`);
  }
  if (frame.samplesPerPixel === 1 && frame.photometric !== 'MONOCHROME1' && frame.photometric !== 'MONOCHROME2') {
    return fail('unsupported-format', `PhotometricInterpretation (0028,0004) ${frame.photometric} with one sample`);
  }
  const raw = firstFrameBytes(ds, ts, frame, limits.codecs);
  if (!raw.ok) return raw;
  const slope = numberAt(ds, Tag.rescaleSlope) ?? 1;
  const intercept = numberAt(ds, Tag.rescaleIntercept) ?? 0;
  if (frame.samplesPerPixel === 3 && raw.value.photometric !== 'RGB' && raw.value.photometric !== 'YBR_FULL') {
    return fail('unsupported-format', `PhotometricInterpretation (0028,0004) ${raw.value.photometric} with three samples`);
  }
  const pixels = toModalityValues(raw.value.bytes, frame, raw.value.photometric, raw.value.interleaved, slope, intercept);
  const image: DecodedImage = {
    width: frame.columns,
    height: frame.rows,
    pixels,
    photometric: frame.samplesPerPixel === 3 ? 'RGB' : frame.photometric, // colour is reduced to luma above
    rescaleSlope: slope,
    rescaleIntercept: intercept,
    bitsStored: frame.bitsStored,
    transferSyntax: part10.value.originalTransferSyntax,
  };
  const wc = numberAt(ds, Tag.windowCenter);
  const ww = numberAt(ds, Tag.windowWidth);
  if (wc !== undefined && ww !== undefined && ww > 0) {
    image.windowCenter = wc;
    image.windowWidth = ww;
  }
  const fn = stringAt(ds, Tag.voiLutFunction);
  if (fn) image.voiLutFunction = fn.toUpperCase();
  const lut = readVoiLut(ds);
  if (lut) image.voiLut = lut;
  const padding = numberAt(ds, Tag.paddingValue);
  if (padding !== undefined) image.paddingValue = padding * slope + intercept;
  const modality = stringAt(ds, Tag.modality);
  if (modality) image.modality = modality;
  const bodyPart = stringAt(ds, Tag.bodyPart);
  if (bodyPart) image.bodyPartExamined = bodyPart;
  const view = stringAt(ds, Tag.viewPosition);
  if (view) image.viewPosition = view;
  return ok(image);
}
