import { createRequire } from 'node:module';

/**
 * The slice of `dcmjs` (0.51, untyped) that the sandbox DICOMweb server uses. Loaded through
 * `createRequire` so this file does not depend on an ambient `declare module 'dcmjs'` that other
 * parts of the project may or may not provide.
 */

/** One element as dcmjs reads it: DICOM JSON shaped (PS3.18 §F.2), plus dcmjs' private `_rawValue`. */
export interface DcmjsElement {
  vr: string;
  Value?: unknown[];
  _rawValue?: unknown;
}

/** A dataset keyed by 8-hex-digit tag, upper-case (e.g. `0020000D`). */
export type DcmjsDataset = Record<string, DcmjsElement>;

/** What `DicomMessage.readFile` returns. */
export interface DcmjsDicomDict {
  meta: DcmjsDataset;
  dict: DcmjsDataset;
}

interface DcmjsDictionaryEntry {
  tag: string;
  vr: string;
  name: string;
}

interface DcmjsModule {
  data: {
    DicomMessage: {
      readFile(buffer: ArrayBuffer, options?: Record<string, unknown>): DcmjsDicomDict;
    };
    DicomMetaDictionary: {
      nameMap: Record<string, DcmjsDictionaryEntry | undefined>;
      dictionary: Record<string, DcmjsDictionaryEntry | undefined>;
    };
  };
}

/** Reads DICOM Part-10 files (PS3.10 §7.1: 128-byte preamble, `DICM`, File Meta group). */
export interface Part10Reader {
  read(bytes: Buffer): DcmjsDicomDict;
  /** Data-dictionary lookup (PS3.6): keyword (`PatientID`) → tag (`00100020`) and VR. */
  lookupKeyword(keyword: string): { tag: string; vr: string } | undefined;
  /** Data-dictionary lookup (PS3.6): tag (`00100020`) → VR. */
  lookupTag(tag: string): { keyword: string; vr: string } | undefined;
}

/** Creates a reader backed by dcmjs. */
export function createDcmjsReader(): Part10Reader {
  const require = createRequire(import.meta.url);
  const dcmjs = require('dcmjs') as DcmjsModule;
  return {
    read(bytes: Buffer): DcmjsDicomDict {
      // dcmjs wants an ArrayBuffer that starts at the file's first byte.
      const arrayBuffer = bytes.buffer.slice(
        bytes.byteOffset,
        bytes.byteOffset + bytes.byteLength,
      ) as ArrayBuffer;
      return dcmjs.data.DicomMessage.readFile(arrayBuffer);
    },
    lookupKeyword(keyword: string) {
      const entry = dcmjs.data.DicomMetaDictionary.nameMap[keyword];
      if (!entry) return undefined;
      return { tag: entry.tag.replace(/[(),]/g, '').toUpperCase(), vr: entry.vr };
    },
    lookupTag(tag: string) {
      const key = `(${tag.slice(0, 4)},${tag.slice(4, 8)})`.toUpperCase();
      const entry = dcmjs.data.DicomMetaDictionary.dictionary[key];
      return entry ? { keyword: entry.name, vr: entry.vr } : undefined;
    },
  };
}
