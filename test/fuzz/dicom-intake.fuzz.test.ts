import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodeDicomImage } from '../../src/preprocess/imaging/decode-dicom-image.js';
import { thirdPartyFixture } from '../helpers/fixtures.js';

/** A hang fails the test at this limit (vitest timeout); speed itself is never asserted. */
const HANG_LIMIT_MS = 120_000;
const LIMITS = { maxPixels: 4096 * 4096 };
let tried = 0;

function expectClearResult(bytes: Uint8Array): void {
  tried++;
  const result = decodeDicomImage(bytes, LIMITS);
  if (result.ok) {
    expect(result.value.width * result.value.height).toBeLessThanOrEqual(LIMITS.maxPixels);
    expect(result.value.pixels.length).toBeGreaterThanOrEqual(result.value.width * result.value.height);
  } else {
    expect(result.reason.length).toBeGreaterThan(0);
    expect(result.detail.length).toBeGreaterThan(0);
  }
}

/** Explicit VR little-endian element with a 2-byte length (PS3.5 §7.1.2). */
function element(group: number, elementNo: number, vr: string, value: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt16LE(group, 0);
  header.writeUInt16LE(elementNo, 2);
  header.write(vr, 4, 'latin1');
  header.writeUInt16LE(value.length, 6);
  return Buffer.concat([header, value]);
}

/** A Part 10 file in Deflated Explicit VR Little Endian (PS3.5 Annex A.5) around `body`. */
function deflatedPart10(body: Buffer): Buffer {
  const ts = Buffer.from('1.2.840.10008.1.2.1.99\0', 'latin1');
  const tsElement = element(0x0002, 0x0010, 'UI', ts);
  const groupLength = Buffer.alloc(4);
  groupLength.writeUInt32LE(tsElement.length, 0);
  const meta = Buffer.concat([element(0x0002, 0x0000, 'UL', groupLength), tsElement]);
  return Buffer.concat([Buffer.alloc(128), Buffer.from('DICM', 'latin1'), meta, deflateRawSync(body, { level: 9 })]);
}

describe('fuzz: DICOM intake (src/preprocess/imaging/decode-dicom-image.ts)', () => {
  const originals = ['CR-MONO1-10-chest.dcm', 'RG1_J2KI.dcm', 'ecg_12_lead_anon.dcm'].map(
    (name) => new Uint8Array(readFileSync(thirdPartyFixture('dicom', name))),
  );

  it('answers truncated, bit-flipped and length-corrupted real files with an image or a clear reason, never a throw', () => {
    const mutated = fc
      .tuple(
        fc.integer({ min: 0, max: originals.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 16 }),
        fc.option(fc.nat()),
        fc.option(fc.tuple(fc.nat(), fc.constantFrom(0xffffffff, 0x7fffffff, 0xfffffffe, 0))),
      )
      .map(([which, flips, cut, length]) => {
        const bytes = new Uint8Array(originals[which]!);
        for (const [at, value] of flips) bytes[at % bytes.length] = value;
        if (length) new DataView(bytes.buffer).setUint32(length[0] % (bytes.length - 4), length[1], true);
        return cut === null ? bytes : bytes.subarray(0, cut % bytes.length);
      });
    fc.assert(fc.property(mutated, expectClearResult), { numRuns: 400 });
    fc.assert(fc.property(fc.uint8Array({ maxLength: 4096 }), expectClearResult), { numRuns: 1000 });
  }, HANG_LIMIT_MS);

  it('stops a zip-bomb-like deflated data set at the inflation cap with bounded memory', () => {
    // 256 MiB of zeros deflates to ~250 KiB; decoding must stop at maxInflatedBytes.
    const bomb = deflatedPart10(Buffer.alloc(256 * 1024 * 1024));
    expect(bomb.length).toBeLessThan(1024 * 1024);
    const before = process.memoryUsage().rss;
    tried++;
    const result = decodeDicomImage(bomb, { maxPixels: 512 * 512, maxInflatedBytes: 8 * 1024 * 1024 });
    const grown = process.memoryUsage().rss - before;
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.detail).toMatch(/inflat|deflat|limit|large/i);
    expect(grown).toBeLessThan(128 * 1024 * 1024);
    expectClearResult(deflatedPart10(Buffer.from('not a data set')));
    expectClearResult(deflatedPart10(Buffer.alloc(0)).subarray(0, 140));
    console.log(`DICOM intake: ${tried} inputs tried`);
    expect(tried).toBeGreaterThan(1400);
  }, HANG_LIMIT_MS);
});
