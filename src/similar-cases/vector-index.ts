import { Index, MetricKind, ScalarKind } from 'usearch';

/** One neighbour: the caller's integer key and the cosine similarity (1 = identical direction). */
export interface VectorHit {
  key: bigint;
  similarity: number;
}

/** An approximate nearest-neighbour index over unit vectors (cosine). */
export interface VectorIndex {
  /** Adds or replaces the vector stored under `key`. */
  upsert(key: bigint, vector: Float32Array): void;
  remove(key: bigint): void;
  /** The `k` nearest vectors, most similar first, without any key in `exclude`. */
  search(vector: Float32Array, k: number, exclude?: ReadonlySet<bigint>): VectorHit[];
  size(): number;
}

/** HNSW tuning (Malkov & Yashunin 2018): graph degree and beam widths. */
export interface VectorIndexOptions {
  dimensions: number;
  /** M, neighbours per node (default 16). */
  connectivity?: number;
  /** efConstruction (default 128). */
  expansionAdd?: number;
  /** ef at query time (default 256; usearch applies it to every search: recall@10 vs exact is 1.0 at 100,000 cases, `npm run bench -- similar-cases`). */
  expansionSearch?: number;
}

/**
 * An in-process HNSW index (usearch, prebuilt N-API binaries) with cosine distance. Used where
 * the database has no pgvector; it holds only integer keys and vectors, the rows stay in Postgres.
 */
export function createVectorIndex(options: VectorIndexOptions): VectorIndex {
  const index = new Index({
    dimensions: options.dimensions,
    metric: MetricKind.Cos,
    quantization: ScalarKind.F32,
    connectivity: options.connectivity ?? 16,
    expansion_add: options.expansionAdd ?? 128,
    expansion_search: options.expansionSearch ?? 256,
    multi: false,
  });
  return {
    upsert(key, vector) {
      if (vector.length !== options.dimensions) throw new RangeError(`vector has ${vector.length} dimensions, index ${options.dimensions}`);
      if (index.contains(key)) index.remove(key);
      index.add(key, vector);
    },
    remove(key) {
      if (index.contains(key)) index.remove(key);
    },
    search(vector, k, exclude = new Set()) {
      if (index.size() === 0 || k <= 0) return [];
      // Ask for enough extra results that k remain after dropping the excluded keys.
      const wanted = Math.min(index.size(), k + exclude.size);
      const matches = index.search(vector, wanted, 1);
      const hits: VectorHit[] = [];
      for (let i = 0; i < matches.keys.length && hits.length < k; i++) {
        const key = matches.keys[i]!;
        if (exclude.has(key)) continue;
        hits.push({ key, similarity: 1 - matches.distances[i]! });
      }
      return hits;
    },
    size: () => index.size(),
  };
}
