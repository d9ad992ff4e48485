import type { Rng } from './seeded-random.js';

/**
 * A DICOM UID under the `2.25` root (PS3.5 §B.2: a UUID written as one decimal integer), drawn
 * from the seeded generator so that the same seed gives the same UIDs. At most 44 characters,
 * well within the 64-character limit of the UI value representation (PS3.5 §6.2).
 */
export function randomDicomUid(rng: Rng): string {
  let value = 0n;
  for (let i = 0; i < 4; i++) value = (value << 32n) | BigInt(Math.floor(rng.next() * 4294967296));
  // Set the UUID version-4 and variant bits (RFC 4122 §4.4) so the value is a well-formed UUID.
  value = (value & ~(0xfn << 76n)) | (0x4n << 76n);
  value = (value & ~(0x3n << 62n)) | (0x2n << 62n);
  return `2.25.${value.toString(10)}`;
}
