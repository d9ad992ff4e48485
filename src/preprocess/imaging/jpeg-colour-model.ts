/** What the JPEG stream's own headers say about its colour components (ITU-T T.81, T.871, Adobe TN 5116). */
export interface JpegColourMarkers {
  /** A JFIF APP0 segment is present (T.871 §6: JFIF colour data is always YCbCr). */
  jfif: boolean;
  /** Adobe APP14 `transform` flag when present: 0 = no transform (RGB), 1 = YCbCr, 2 = YCCK. */
  adobeTransform?: number;
  /** Component identifiers of the frame header (SOFn), in order. */
  componentIds: number[];
}

const SOI = 0xd8;
const SOS = 0xda;
const APP0 = 0xe0;
const APP14 = 0xee;

function isSof(marker: number): boolean {
  // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC) — T.81 Table B.1.
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
}

/**
 * Reads the marker segments before the first scan (SOS). Returns `undefined` when the stream does
 * not start with SOI or a segment runs past the end; only header bytes are read, never entropy data.
 */
export function readJpegColourMarkers(stream: Uint8Array): JpegColourMarkers | undefined {
  if (stream.byteLength < 4 || stream[0] !== 0xff || stream[1] !== SOI) return undefined;
  const out: JpegColourMarkers = { jfif: false, componentIds: [] };
  let p = 2;
  while (p + 4 <= stream.byteLength) {
    if (stream[p] !== 0xff) return undefined;
    const marker = stream[p + 1]!;
    if (marker === 0xff) {
      p += 1; // fill byte (T.81 B.1.1.2)
      continue;
    }
    if (marker === SOS) return out;
    const length = (stream[p + 2]! << 8) | stream[p + 3]!;
    if (length < 2 || p + 2 + length > stream.byteLength) return undefined;
    const body = stream.subarray(p + 4, p + 2 + length);
    if (marker === APP0 && body.byteLength >= 5 && String.fromCharCode(...body.subarray(0, 5)) === 'JFIF\0') out.jfif = true;
    // Adobe APP14: "Adobe", version(2), flags0(2), flags1(2), transform(1).
    if (marker === APP14 && body.byteLength >= 12 && String.fromCharCode(...body.subarray(0, 5)) === 'Adobe') out.adobeTransform = body[11]!;
    if (isSof(marker) && body.byteLength >= 6) {
      const n = body[5]!;
      for (let k = 0; k < n && 6 + 3 * k < body.byteLength; k++) out.componentIds.push(body[6 + 3 * k]!);
    }
    p += 2 + length;
  }
  return out;
}

/**
 * Whether the three components of a JPEG frame are YCbCr (`YBR_FULL`, to be reduced to Y) or RGB
 * (no colour transform), from the stream's own markers first and the DICOM header second:
 * 1. an Adobe APP14 marker decides (transform 0 = RGB, otherwise YCbCr);
 * 2. a JFIF APP0 marker means YCbCr (T.871 §6);
 * 3. component identifiers 'R','G','B' mean RGB (the libjpeg convention);
 * 4. otherwise the DICOM Photometric Interpretation describes the compressed stream (PS3.5 §8.2.1,
 *    PS3.3 C.7.6.3.1.2): `RGB` means the components were coded without a colour transform, the
 *    `YBR_*` values mean YCbCr. Never assume YCbCr for a stream the DICOM header calls RGB.
 */
export function jpegColourModel(markers: JpegColourMarkers | undefined, dicomPhotometric: string): 'RGB' | 'YBR_FULL' {
  if (markers?.adobeTransform !== undefined) return markers.adobeTransform === 0 ? 'RGB' : 'YBR_FULL';
  if (markers?.jfif) return 'YBR_FULL';
  const ids = markers?.componentIds ?? [];
  if (ids.length === 3 && ids[0] === 0x52 && ids[1] === 0x47 && ids[2] === 0x42) return 'RGB';
  return dicomPhotometric.toUpperCase().startsWith('YBR') ? 'YBR_FULL' : 'RGB';
}
