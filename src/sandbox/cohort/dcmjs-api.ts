import { createRequire } from 'node:module';

/** A dataset in dcmjs' naturalized form: DICOM keywords as keys (PS3.6), sequences as arrays. */
export type NaturalizedDataset = { [keyword: string]: unknown };

/** The denaturalized (DICOM JSON–like) element map dcmjs writes. */
export type DenaturalizedDataset = Record<string, { vr: string; Value?: unknown[] }>;

/** The slice of dcmjs 0.51 (untyped) this generator uses, with the types we rely on. */
export interface DcmjsData {
  DicomMetaDictionary: {
    denaturalizeDataset(dataset: NaturalizedDataset): DenaturalizedDataset;
    naturalizeDataset(dataset: DenaturalizedDataset): NaturalizedDataset;
  };
  DicomDict: new (meta: DenaturalizedDataset) => {
    dict: DenaturalizedDataset;
    write(options?: { fragmentMultiframe?: boolean; allowInvalidVRLength?: boolean }): ArrayBuffer;
  };
  DicomMessage: {
    readFile(
      buffer: ArrayBuffer,
      options?: { untilTag?: string; includeUntilTagValue?: boolean },
    ): { meta: DenaturalizedDataset; dict: DenaturalizedDataset };
  };
}

/**
 * Loads dcmjs through `createRequire`: the package ships no type declarations, and an ambient
 * `declare module 'dcmjs'` here could clash with other parts of the project declaring their own.
 * The caller passes the result on; nothing is cached at module level.
 */
export function loadDcmjs(): DcmjsData {
  const require = createRequire(import.meta.url);
  const dcmjs = require('dcmjs') as { data: DcmjsData; log?: { setLevel?: (level: string) => void } };
  // dcmjs logs VR guesses to the console at 'info'; keep test and CLI output clean.
  dcmjs.log?.setLevel?.('error');
  return dcmjs.data;
}

/** DICOM transfer syntax UIDs used by the generator (PS3.5 §10, Annex A). */
export const TransferSyntax = {
  explicitVrLittleEndian: '1.2.840.10008.1.2.1',
  rleLossless: '1.2.840.10008.1.2.5',
} as const;

/** Implementation Class UID of the generator's files (PS3.7 §D.3.3.2), a fixed 2.25 UUID-derived UID. */
export const implementationClassUid = '2.25.176328921637413952011846127413286151231';
