/**
 * DICOM RLE Lossless encoding (PS3.5 Annex G). Each frame becomes one fragment: a 64-byte header
 * (number of segments, then up to 15 segment offsets, UL little endian, G.5) followed by one
 * PackBits-compressed segment per byte plane, most significant byte first (G.2), each padded to
 * even length (G.3.1).
 */
export function encodeRleFrame(pixels: Uint16Array | Uint8Array, bitsAllocated: 8 | 16): Uint8Array {
  const n = pixels.length;
  const planes = bitsAllocated === 16 ? 2 : 1;
  const plane = new Uint8Array(n);
  const segments: Uint8Array[] = [];
  for (let p = 0; p < planes; p++) {
    // G.2: segment 1 holds the most significant byte of every sample.
    const shift = (planes - 1 - p) * 8;
    for (let i = 0; i < n; i++) plane[i] = ((pixels[i] as number) >> shift) & 0xff;
    segments.push(packBits(plane));
  }
  let total = 64;
  for (const s of segments) total += s.length;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  view.setUint32(0, segments.length, true);
  let offset = 64;
  segments.forEach((s, i) => {
    view.setUint32(4 + 4 * i, offset, true);
    out.set(s, offset);
    offset += s.length;
  });
  return out;
}

/**
 * PackBits (G.3.1): a header byte n in 0..127 copies the next n+1 bytes literally; n in −127..−1
 * repeats the next byte −n+1 times. Runs of 3 or more identical bytes are replicated; rows are
 * not treated specially (the standard encodes the segment as one byte stream). Output padded to
 * even length.
 */
export function packBits(input: Uint8Array): Uint8Array {
  const n = input.length;
  // Worst case: one header byte per 128 literal bytes, plus padding.
  const out = new Uint8Array(n + Math.ceil(n / 128) + 2);
  let o = 0;
  let i = 0;
  while (i < n) {
    // Length of the run of identical bytes starting at i (max 128).
    const b = input[i] as number;
    let run = 1;
    while (run < 128 && i + run < n && input[i + run] === b) run++;
    if (run >= 3) {
      out[o++] = (257 - run) & 0xff; // −(run − 1) as a signed byte
      out[o++] = b;
      i += run;
      continue;
    }
    // Literal run: extend until a run of 3 identical bytes starts or 128 bytes are collected.
    const start = i;
    let len = 0;
    while (i < n && len < 128) {
      const c = input[i] as number;
      if (i + 2 < n && input[i + 1] === c && input[i + 2] === c) break;
      i++;
      len++;
    }
    out[o++] = len - 1;
    out.set(input.subarray(start, start + len), o);
    o += len;
  }
  if (o % 2 === 1) out[o++] = 0x80; // −128 is a no-op header: a safe pad byte (G.3.1)
  return out.slice(0, o);
}

/**
 * Decodes one RLE Lossless frame (PS3.5 Annex G) back to samples; used by the renderer and to
 * check the encoder. Returns samples in the same layout the encoder took.
 */
export function decodeRleFrame(fragment: Uint8Array, pixelCount: number, bitsAllocated: 8 | 16): Uint16Array {
  const view = new DataView(fragment.buffer, fragment.byteOffset, fragment.byteLength);
  const segmentCount = view.getUint32(0, true);
  const planes = bitsAllocated === 16 ? 2 : 1;
  if (segmentCount !== planes) throw new Error(`RLE frame has ${segmentCount} segments, expected ${planes}`);
  const out = new Uint16Array(pixelCount);
  for (let p = 0; p < planes; p++) {
    const start = view.getUint32(4 + 4 * p, true);
    const end = p + 1 < segmentCount ? view.getUint32(8 + 4 * p, true) : fragment.length;
    const shift = (planes - 1 - p) * 8;
    let i = start;
    let k = 0;
    while (i < end && k < pixelCount) {
      const h = fragment[i++] as number;
      if (h < 128) {
        for (let j = 0; j <= h && k < pixelCount; j++) out[k++]! |= (fragment[i++] as number) << shift;
      } else if (h > 128) {
        const v = (fragment[i++] as number) << shift;
        for (let j = 0; j < 257 - h && k < pixelCount; j++) out[k++]! |= v;
      }
    }
    if (k !== pixelCount)
      throw new Error(`RLE segment ${p + 1} decoded to ${k} samples, expected ${pixelCount}`);
  }
  return out;
}
