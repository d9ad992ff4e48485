import { createRequire } from 'node:module';

interface DcmjsWriter {
  data: {
    DicomDict: new (meta: Record<string, unknown>) => { dict: Record<string, unknown>; write(): ArrayBuffer };
  };
}

/** What a generated instance is made of. */
export interface GeneratedInstance {
  bytes: Buffer;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  sopInstanceUid: string;
  frames: Buffer[];
}

/**
 * Writes a small multi-frame Part-10 file (Explicit VR Little Endian, 16-bit native pixels) with
 * dcmjs, so tests own their data and know every frame's bytes.
 */
export function generateDicom(options: {
  studyInstanceUid: string;
  seriesInstanceUid: string;
  sopInstanceUid: string;
  patientId: string;
  modality: string;
  studyDate?: string;
  bodyPart?: string;
  frames?: number;
}): GeneratedInstance {
  const require = createRequire(import.meta.url);
  const dcmjs = require('dcmjs') as DcmjsWriter;
  const rows = 4;
  const columns = 3;
  const frameCount = options.frames ?? 3;
  const frames = Array.from({ length: frameCount }, (_, f) => {
    const frame = Buffer.alloc(rows * columns * 2);
    for (let i = 0; i < rows * columns; i++) frame.writeUInt16LE(f * 1000 + i, i * 2);
    return frame;
  });
  const pixels = Buffer.concat(frames);
  const sopClassUid = '1.2.840.10008.5.1.4.1.1.7.2'; // Multi-frame Grayscale Word SC Image Storage
  const meta = {
    '00020001': { vr: 'OB', Value: [new Uint8Array([0, 1]).buffer] },
    '00020002': { vr: 'UI', Value: [sopClassUid] },
    '00020003': { vr: 'UI', Value: [options.sopInstanceUid] },
    '00020010': { vr: 'UI', Value: ['1.2.840.10008.1.2.1'] },
    '00020012': { vr: 'UI', Value: ['1.2.826.0.1.3680043.10.1'] },
  };
  const dict = new dcmjs.data.DicomDict(meta);
  dict.dict = {
    '00080016': { vr: 'UI', Value: [sopClassUid] },
    '00080018': { vr: 'UI', Value: [options.sopInstanceUid] },
    '00080020': { vr: 'DA', Value: [options.studyDate ?? '20240102'] },
    '00080060': { vr: 'CS', Value: [options.modality] },
    '00100010': { vr: 'PN', Value: [{ Alphabetic: 'Test^Generated' }] },
    '00100020': { vr: 'LO', Value: [options.patientId] },
    '00180015': { vr: 'CS', Value: [options.bodyPart ?? 'CHEST'] },
    '0020000D': { vr: 'UI', Value: [options.studyInstanceUid] },
    '0020000E': { vr: 'UI', Value: [options.seriesInstanceUid] },
    '00200013': { vr: 'IS', Value: [1] },
    '00280002': { vr: 'US', Value: [1] },
    '00280004': { vr: 'CS', Value: ['MONOCHROME2'] },
    '00280008': { vr: 'IS', Value: [frameCount] },
    '00280010': { vr: 'US', Value: [rows] },
    '00280011': { vr: 'US', Value: [columns] },
    '00280100': { vr: 'US', Value: [16] },
    '00280101': { vr: 'US', Value: [16] },
    '00280102': { vr: 'US', Value: [15] },
    '00280103': { vr: 'US', Value: [0] },
    '7FE00010': {
      vr: 'OW',
      Value: [pixels.buffer.slice(pixels.byteOffset, pixels.byteOffset + pixels.length)],
    },
  };
  return {
    bytes: Buffer.from(dict.write()),
    studyInstanceUid: options.studyInstanceUid,
    seriesInstanceUid: options.seriesInstanceUid,
    sopInstanceUid: options.sopInstanceUid,
    frames,
  };
}
