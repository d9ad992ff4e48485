import type { DcmjsDataset } from './dcmjs-reader.js';

/**
 * DICOM JSON Model (DICOM PS3.18 Annex F): a dataset is an object keyed by 8 upper-case hex digits,
 * each attribute `{ vr, Value? | BulkDataURI? | InlineBinary? }`.
 */
export interface DicomJsonAttribute {
  vr: string;
  Value?: unknown[];
  BulkDataURI?: string;
  InlineBinary?: string;
}

/** A DICOM JSON dataset (PS3.18 §F.2.2). */
export type DicomJsonDataset = Record<string, DicomJsonAttribute>;

/** VRs whose values are bulk binary data (PS3.18 §F.2.7: sent as BulkDataURI or InlineBinary). */
const BINARY_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'UN']);

/** True when the VR carries binary bulk data. */
export function isBinaryVr(vr: string): boolean {
  return BINARY_VRS.has(vr);
}

/**
 * Converts a dcmjs dataset into DICOM JSON, leaving out File Meta (group 0002, not part of the
 * dataset per PS3.10 §7.1) and dcmjs' private fields. Top-level binary attributes are kept as
 * `{ vr }` placeholders whose `BulkDataURI` the server fills in per request; binary attributes
 * nested in sequences are omitted (PS3.18 §F.2.7 lets the origin server leave bulk data out).
 */
export function toDicomJson(dataset: DcmjsDataset, nested = false): DicomJsonDataset {
  const out: DicomJsonDataset = {};
  for (const tag of Object.keys(dataset).sort()) {
    const element = dataset[tag];
    if (!element || tag.startsWith('0002')) continue;
    const upperTag = tag.toUpperCase();
    if (isBinaryVr(element.vr)) {
      if (!nested) out[upperTag] = { vr: element.vr };
      continue;
    }
    const values = element.Value ?? [];
    if (element.vr === 'SQ') {
      const items = values.map((item) => toDicomJson(item as DcmjsDataset, true));
      out[upperTag] = items.length ? { vr: 'SQ', Value: items } : { vr: 'SQ' };
      continue;
    }
    // PS3.18 §F.2.5: an attribute with no value has no "Value"; empty entries in a multi-valued
    // attribute are null.
    const cleaned = values.map((value) => (value === '' || value === undefined ? null : value));
    out[upperTag] = cleaned.some((value) => value !== null)
      ? { vr: element.vr, Value: cleaned }
      : { vr: element.vr };
  }
  return out;
}

/** First value of an attribute as a string, or undefined. PN values yield their Alphabetic group. */
export function firstString(dataset: DicomJsonDataset, tag: string): string | undefined {
  const value = dataset[tag]?.Value?.[0];
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'object') {
    const alphabetic = (value as { Alphabetic?: unknown }).Alphabetic;
    return typeof alphabetic === 'string' ? alphabetic : undefined;
  }
  return String(value);
}
