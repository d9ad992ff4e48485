/** Where the top-level PixelData element lies in a Part-10 buffer, and whether the whole file is well formed. */
export interface DatasetWalk {
  /** PixelData (7FE0,0010): byte offset of its value, its declared length (`undefined` when encapsulated), and where the element ends. */
  pixelData?: { valueOffset: number; declaredLength: number | undefined; end: number; overruns: boolean };
  /** Byte offset of the first element that is not well formed (bad VR, overrun, broken item), if any. */
  malformedAt?: number;
  /** Total bytes in the buffer. */
  size: number;
}

const LONG_LENGTH_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);
const ALL_VRS = new Set([...LONG_LENGTH_VRS, 'AE', 'AS', 'AT', 'CS', 'DA', 'DS', 'DT', 'FD', 'FL', 'IS', 'LO', 'LT', 'PN', 'SH', 'SL', 'SS', 'ST', 'TM', 'UI', 'UL', 'US']);
/** The undefined length, 0xFFFFFFFF (PS3.5 §7.1.2). */
const UNDEFINED = 0xffffffff;
const MAX_DEPTH = 16;
/** The tags the walk acts on: item delimitation (PS3.5 §7.5) and PixelData (7FE0,0010). */
const TAG = { item: 0xfffee000, itemEnd: 0xfffee00d, sequenceEnd: 0xfffee0dd, pixelData: 0x7fe00010 } as const;

class Malformed extends Error {
  constructor(readonly at: number) {
    super(`malformed element at ${at}`);
  }
}

/**
 * Walks the element structure of a Part-10 buffer (PS3.10 §7.1; PS3.5 §7.1 data elements, §7.5
 * nesting, A.4 encapsulation) without decoding any value: a linear pass over headers only, bounded
 * by the file size and a nesting depth of 16. It finds the top-level PixelData element and the first
 * byte that is not a well-formed element, so the caller can refuse trailing garbage and truncated
 * or over-long pixel data before dcmjs (which, with `ignoreErrors`, would log one line per garbage
 * "element") ever sees them.
 */
export function walkDataset(buffer: ArrayBuffer, explicitVr: boolean): DatasetWalk {
  const bytes = new Uint8Array(buffer);
  const view = new DataView(buffer);
  const size = bytes.byteLength;
  const walk: DatasetWalk = { size };
  const tagAt = (p: number) => ((view.getUint16(p, true) << 16) | view.getUint16(p + 2, true)) >>> 0;
  const vrAt = (p: number) => String.fromCharCode(bytes[p]!, bytes[p + 1]!);

  /** Skips the items of an undefined-length sequence or encapsulated pixel data; returns the end. */
  const skipItems = (start: number, explicit: boolean, depth: number, encapsulated: boolean): number => {
    let p = start;
    for (;;) {
      if (p + 8 > size) throw new Malformed(p);
      const tag = tagAt(p);
      const length = view.getUint32(p + 4, true);
      if (tag === TAG.sequenceEnd) return p + 8;
      if (tag !== TAG.item) throw new Malformed(p);
      if (length === UNDEFINED) {
        if (encapsulated) throw new Malformed(p); // fragments always have a defined length (A.4)
        p = elements(p + 8, explicit, depth + 1, true);
      } else {
        if (p + 8 + length > size) throw new Malformed(p);
        p += 8 + length;
      }
    }
  };

  /** Walks elements from `start`; inside an item stops after the item delimiter, at top level at the end. */
  const elements = (start: number, explicit: boolean, depth: number, inItem: boolean): number => {
    if (depth > MAX_DEPTH) throw new Malformed(start);
    let p = start;
    while (p < size) {
      if (p + 8 > size) throw new Malformed(p);
      const tag = tagAt(p);
      if (tag === TAG.itemEnd) {
        if (!inItem) throw new Malformed(p);
        return p + 8;
      }
      // Group 0002 is always explicit VR little endian (PS3.10 §7.1).
      const isExplicit = explicit || tag >>> 16 === 0x0002;
      let header = 8;
      let length: number;
      let vr = '';
      if (isExplicit) {
        vr = vrAt(p + 4);
        if (!ALL_VRS.has(vr)) throw new Malformed(p);
        if (LONG_LENGTH_VRS.has(vr)) {
          if (p + 12 > size) throw new Malformed(p);
          length = view.getUint32(p + 8, true);
          header = 12;
        } else length = view.getUint16(p + 6, true);
      } else length = view.getUint32(p + 4, true);
      const top = depth === 0;
      if (length === UNDEFINED) {
        const encapsulated = top && tag === TAG.pixelData;
        // UN of undefined length is encoded implicit VR little endian (PS3.5 §6.2.2).
        const end = skipItems(p + header, vr === 'UN' ? false : isExplicit, depth, encapsulated);
        if (encapsulated) walk.pixelData = { valueOffset: p + header, declaredLength: undefined, end, overruns: false };
        p = end;
        continue;
      }
      const end = p + header + length;
      if (top && tag === TAG.pixelData) {
        walk.pixelData = { valueOffset: p + header, declaredLength: length, end: Math.min(end, size), overruns: end > size };
        if (end > size) throw new Malformed(p);
      }
      if (end > size) throw new Malformed(p);
      p = end;
    }
    if (inItem) throw new Malformed(p);
    return p;
  };

  try {
    elements(132, explicitVr, 0, false);
  } catch (err) {
    if (err instanceof Malformed) walk.malformedAt = err.at;
    else throw err;
  }
  return walk;
}
