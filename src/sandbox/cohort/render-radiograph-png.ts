import { PNG } from 'pngjs';
import type { DcmjsData } from './dcmjs-api.js';
import { TransferSyntax, loadDcmjs } from './dcmjs-api.js';
import { decodeRleFrame } from './rle-lossless.js';

function firstNumber(dict: Record<string, { Value?: unknown[] }>, tag: string): number | undefined {
  const v = dict[tag]?.Value?.[0];
  return typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : undefined;
}

function firstString(dict: Record<string, { Value?: unknown[] }>, tag: string): string | undefined {
  const v = dict[tag]?.Value?.[0];
  return typeof v === 'string' ? v : undefined;
}

/**
 * Renders a single-frame monochrome radiograph (as written by this generator: 16 bits allocated,
 * unsigned, explicit VR little endian or RLE Lossless) to an 8-bit grayscale PNG. Applies the
 * window centre/width (PS3.3 C.11.2.1.2.1, linear function) and shows MONOCHROME1 inverted so
 * that bone is white in every variant. Meant for documentation renders and visual checks.
 * @throws Error when the file is not a monochrome 16-bit image in a supported transfer syntax.
 */
export function renderRadiographPng(dicomBytes: Uint8Array, dcmjs: DcmjsData = loadDcmjs()): Buffer {
  const buffer = dicomBytes.buffer.slice(
    dicomBytes.byteOffset,
    dicomBytes.byteOffset + dicomBytes.byteLength,
  ) as ArrayBuffer;
  const file = dcmjs.DicomMessage.readFile(buffer);
  const ts = firstString(file.meta, '00020010');
  const rows = firstNumber(file.dict, '00280010');
  const cols = firstNumber(file.dict, '00280011');
  const bitsAllocated = firstNumber(file.dict, '00280100');
  const photometric = firstString(file.dict, '00280004');
  if (rows === undefined || cols === undefined || bitsAllocated !== 16)
    throw new Error('renderRadiographPng: expected a 16-bit single-frame image');
  if (photometric !== 'MONOCHROME1' && photometric !== 'MONOCHROME2')
    throw new Error(`renderRadiographPng: unsupported photometric interpretation ${photometric}`);
  const frame = file.dict['7FE00010']?.Value?.[0];
  if (!(frame instanceof ArrayBuffer)) throw new Error('renderRadiographPng: no pixel data');
  let samples: Uint16Array;
  if (ts === TransferSyntax.rleLossless) samples = decodeRleFrame(new Uint8Array(frame), rows * cols, 16);
  else if (ts === TransferSyntax.explicitVrLittleEndian || ts === '1.2.840.10008.1.2')
    samples = new Uint16Array(frame.slice(0, rows * cols * 2));
  else throw new Error(`renderRadiographPng: unsupported transfer syntax ${ts}`);
  const bitsStored = firstNumber(file.dict, '00280101') ?? 16;
  const center = firstNumber(file.dict, '00281050') ?? 2 ** (bitsStored - 1);
  const width = firstNumber(file.dict, '00281051') ?? 2 ** bitsStored;
  const png = new PNG({ width: cols, height: rows });
  const lo = center - 0.5 - (width - 1) / 2;
  const scale = 255 / Math.max(1, width - 1);
  for (let i = 0; i < rows * cols; i++) {
    let g = ((samples[i] as number) - lo) * scale;
    g = g < 0 ? 0 : g > 255 ? 255 : g;
    if (photometric === 'MONOCHROME1') g = 255 - g;
    const o = i * 4;
    png.data[o] = g;
    png.data[o + 1] = g;
    png.data[o + 2] = g;
    png.data[o + 3] = 255;
  }
  return PNG.sync.write(png);
}
