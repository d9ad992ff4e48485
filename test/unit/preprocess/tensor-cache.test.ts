import { describe, expect, it } from 'vitest';
import {
  createTensorCache,
  tensorCacheKey,
  type ModalityArrays,
} from '../../../src/preprocess/tensor-cache.js';

/** Issue #26: the preprocessed-tensor cache is bounded, copies in and out, and counts every lookup. */
/** The cached `image` array as plain numbers (empty when absent). */
function values(a: ModalityArrays | undefined): number[] {
  const image = a?.image;
  return image instanceof Float32Array ? Array.from(image) : [];
}

describe('tensor cache', () => {
  const arrays = (n: number, fill: number) => ({ image: new Float32Array(n).fill(fill) });

  it('returns a copy of what was stored, and reports hits and misses', () => {
    const lookups: string[] = [];
    const cache = createTensorCache({
      maxBytes: 1 << 20,
      maxEntries: 8,
      onLookup: (m, hit) => lookups.push(`${m}:${hit}`),
    });
    expect(cache.get('a', 'image')).toBeUndefined();
    const stored = arrays(4, 0.5);
    cache.set('a', stored);
    stored.image[0] = 9; // the caller's array is not the cached one
    const first = cache.get('a', 'image');
    expect(values(first)).toEqual([0.5, 0.5, 0.5, 0.5]);
    // A hit handed to inference may have its buffer transferred (detached); the cache keeps its own.
    const buffer = first?.image?.buffer;
    if (!buffer) throw new Error('expected a hit');
    structuredClone(buffer, { transfer: [buffer] });
    expect(first?.image?.length).toBe(0);
    expect(values(cache.get('a', 'image'))).toEqual([0.5, 0.5, 0.5, 0.5]);
    expect(lookups).toEqual(['image:false', 'image:true', 'image:true']);
  });

  it('is bounded by entries and by bytes, dropping the least recently used', () => {
    const byEntries = createTensorCache({ maxBytes: 1 << 20, maxEntries: 2 });
    byEntries.set('a', arrays(4, 1));
    byEntries.set('b', arrays(4, 2));
    byEntries.get('a', 'image'); // a is now more recent than b
    byEntries.set('c', arrays(4, 3));
    expect(byEntries.size.entries).toBe(2);
    expect(byEntries.get('b', 'image')).toBeUndefined();
    expect(byEntries.get('a', 'image')).toBeDefined();

    const byBytes = createTensorCache({ maxBytes: 40, maxEntries: 100 });
    byBytes.set('a', arrays(4, 1)); // 16 bytes
    byBytes.set('b', arrays(4, 2)); // 32
    byBytes.set('c', arrays(4, 3)); // 48 > 40: a goes
    expect(byBytes.size).toEqual({ entries: 2, bytes: 32 });
    expect(byBytes.get('a', 'image')).toBeUndefined();
    byBytes.set('huge', arrays(100, 1)); // larger than the whole cache: not kept, nothing evicted
    expect(byBytes.size).toEqual({ entries: 2, bytes: 32 });
  });

  it('keeps nothing when disabled', () => {
    const cache = createTensorCache({ maxBytes: 0, maxEntries: 10 });
    cache.set('a', arrays(4, 1));
    expect(cache.get('a', 'image')).toBeUndefined();
  });

  it('keys differ with the content, the settings and the modality', () => {
    const base = tensorCacheKey('image', { size: [224, 224] }, new Uint8Array([1, 2, 3]));
    expect(tensorCacheKey('image', { size: [224, 224] }, new Uint8Array([1, 2, 3]))).toBe(base);
    expect(tensorCacheKey('image', { size: [224, 224] }, new Uint8Array([1, 2, 4]))).not.toBe(base);
    expect(tensorCacheKey('image', { size: [256, 256] }, new Uint8Array([1, 2, 3]))).not.toBe(base);
    expect(tensorCacheKey('ecg', { size: [224, 224] }, new Uint8Array([1, 2, 3]))).not.toBe(base);
  });
});
