import { createHash } from 'node:crypto';

/** The arrays one modality produced for the model, keyed by input role. */
export type ModalityArrays = Partial<Record<string, Float32Array | BigInt64Array>>;

/** Bounds of a {@link TensorCache}; either at 0 disables it. */
export interface TensorCacheLimits {
  /** Most bytes of tensor data held (sum of every cached array's `byteLength`). */
  maxBytes: number;
  /** Most entries held. */
  maxEntries: number;
}

/**
 * A bounded, least-recently-used, in-memory cache of preprocessed modality tensors (issue #26:
 * never decode the same pixels or parse the same ECG twice). Keys come from
 * {@link tensorCacheKey}: a digest of the input's content and of the manifest's preprocessing
 * settings, so a hit can only ever be the tensor that the same bytes would preprocess to.
 */
export interface TensorCache {
  /** A copy of the cached arrays, or undefined on a miss; `onLookup` hears either. */
  get(key: string, modality: string): ModalityArrays | undefined;
  /** Stores a copy (entries larger than `maxBytes` are not kept). */
  set(key: string, arrays: ModalityArrays): void;
  /** Entries and bytes held now. */
  readonly size: { entries: number; bytes: number };
}

/** Options for {@link createTensorCache}. */
export interface TensorCacheOptions extends TensorCacheLimits {
  /** Called on each lookup (metrics: hits and misses by modality). */
  onLookup?: (modality: string, hit: boolean) => void;
}

function bytesOf(arrays: ModalityArrays): number {
  let n = 0;
  for (const a of Object.values(arrays)) n += a?.byteLength ?? 0;
  return n;
}

/**
 * Arrays are copied in and out: inference may transfer a tensor's buffer to a worker thread
 * (detaching it), and a cached array shared with a caller could be changed under the cache.
 */
function copyOf(arrays: ModalityArrays): ModalityArrays {
  const out: ModalityArrays = {};
  for (const [role, a] of Object.entries(arrays)) if (a) out[role] = a.slice();
  return out;
}

/** Creates a {@link TensorCache}; with `maxBytes` or `maxEntries` at 0 every lookup misses and nothing is kept. */
export function createTensorCache(options: TensorCacheOptions): TensorCache {
  const { maxBytes, maxEntries, onLookup } = options;
  // A Map iterates in insertion order: re-inserting on a hit makes the first key the least recently used.
  const entries = new Map<string, { arrays: ModalityArrays; bytes: number }>();
  let bytes = 0;
  const evictUntil = (needBytes: number) => {
    while (entries.size > 0 && (entries.size >= maxEntries || bytes + needBytes > maxBytes)) {
      const oldest = entries.keys().next().value as string;
      bytes -= entries.get(oldest)?.bytes ?? 0;
      entries.delete(oldest);
    }
  };
  return {
    get(key, modality) {
      const entry = entries.get(key);
      onLookup?.(modality, entry !== undefined);
      if (!entry) return undefined;
      entries.delete(key);
      entries.set(key, entry);
      return copyOf(entry.arrays);
    },
    set(key, arrays) {
      if (maxBytes <= 0 || maxEntries <= 0) return;
      const size = bytesOf(arrays);
      if (size > maxBytes) return;
      const previous = entries.get(key);
      if (previous) {
        bytes -= previous.bytes;
        entries.delete(key);
      }
      evictUntil(size);
      entries.set(key, { arrays: copyOf(arrays), bytes: size });
      bytes += size;
    },
    get size() {
      return { entries: entries.size, bytes };
    },
  };
}

/**
 * The cache key of one modality's tensors: SHA-256 over the modality, the settings that shape its
 * tensor (the manifest's `preprocessing` section for it plus anything else the caller names, e.g.
 * which input roles are produced and the pixel limit) and the input's full content (the DICOM
 * bytes, or the ECG Observation as JSON).
 *
 * Keyed by content rather than by SOP Instance UID or `meta.versionId` alone: a version id can be
 * absent, and a UID names an instance, not its bytes — hashing the bytes is a few ms against the
 * hundreds a JPEG 2000 decode costs, and can never serve a tensor for a different input version.
 */
export function tensorCacheKey(modality: string, settings: unknown, content: Uint8Array | string): string {
  const hash = createHash('sha256');
  hash.update(modality);
  hash.update('\0');
  hash.update(JSON.stringify(settings) ?? 'null');
  hash.update('\0');
  hash.update(content);
  return hash.digest('hex');
}
