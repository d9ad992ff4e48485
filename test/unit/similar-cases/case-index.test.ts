import { resolve } from 'node:path';
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMigrations } from '../../../src/store/migrate.js';
import { createCaseIndex } from '../../../src/similar-cases/case-index.js';
import { createVectorIndex } from '../../../src/similar-cases/vector-index.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/test-database.js';

const DIM = 8;

function unit(values: number[]): Float32Array {
  const norm = Math.hypot(...values);
  return Float32Array.from(values, (v) => v / norm);
}

/** Deterministic pseudo-random unit vectors (mulberry32). */
function randomUnit(seed: number): Float32Array {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5;
  };
  return unit(Array.from({ length: DIM }, next));
}

describe('vector index (usearch HNSW, cosine)', () => {
  it('returns the exact nearest neighbours of a small set, most similar first, and honours exclusions', () => {
    const index = createVectorIndex({ dimensions: DIM });
    const vectors = Array.from({ length: 200 }, (_, i) => randomUnit(i + 1));
    vectors.forEach((v, i) => index.upsert(BigInt(i), v));
    const query = vectors[17]!;
    const exact = vectors
      .map((v, i) => ({ i, s: v.reduce((acc, x, j) => acc + x * query[j]!, 0) }))
      .sort((p, q) => q.s - p.s);
    const hits = index.search(query, 5);
    expect(hits.map((h) => Number(h.key))).toEqual(exact.slice(0, 5).map((e) => e.i));
    expect(hits[0]!.similarity).toBeCloseTo(1, 5);
    const without = index.search(query, 5, new Set([17n]));
    expect(without.map((h) => Number(h.key))).toEqual(exact.slice(1, 6).map((e) => e.i));
  });

  it('replaces a vector on upsert and rejects a wrong dimension', () => {
    const index = createVectorIndex({ dimensions: DIM });
    index.upsert(1n, unit([1, 0, 0, 0, 0, 0, 0, 0]));
    index.upsert(2n, unit([0, 1, 0, 0, 0, 0, 0, 0]));
    index.upsert(1n, unit([0, 0, 1, 0, 0, 0, 0, 0]));
    expect(index.size()).toBe(2);
    expect(Number(index.search(unit([0, 0, 1, 0, 0, 0, 0, 0]), 1)[0]!.key)).toBe(1);
    expect(() => index.upsert(3n, new Float32Array(3))).toThrow(RangeError);
  });
});

describe('case index (Postgres rows + HNSW graphs)', () => {
  let db: TestDatabase;
  let pool: pg.Pool;

  beforeAll(async () => {
    db = await createTestDatabase();
    pool = new pg.Pool({ connectionString: db.url, max: 2 });
    await runMigrations(pool, resolve('migrations'), pino({ level: 'silent' }));
  });
  afterAll(async () => {
    await pool.end();
    await db.drop();
  });

  it('never returns the query patient, survives a rebuild from Postgres and keeps models apart', async () => {
    const index = createCaseIndex({ pool, model: 'clip@1', dimensions: DIM });
    for (let i = 0; i < 30; i++) {
      await index.upsert({
        patientRef: `Patient/p${i}`,
        ecgRef: `Observation/p${i}-ecg`,
        ...(i % 2 === 0 ? { reportRef: `DiagnosticReport/p${i}-ecg-report`, reportEmbedding: randomUnit(1000 + i) } : {}),
        ecgRecorded: '2026-01-01T00:00:00.000Z',
        ecgEmbedding: randomUnit(i + 1),
      });
    }
    const own = await index.ecgEmbeddingOf('Patient/p3');
    expect(own).toBeDefined();
    const hits = await index.nearestByEcg(own!, 5, 'Patient/p3');
    expect(hits).toHaveLength(5);
    expect(hits.map((h) => h.patientRef)).not.toContain('Patient/p3');
    expect(hits[0]!.ecgRef).toMatch(/^Observation\/p\d+-ecg$/);
    expect(hits.every((h, i) => i === 0 || h.similarity <= hits[i - 1]!.similarity)).toBe(true);
    // Without the exclusion the patient is their own nearest neighbour: the exclusion is what hides them.
    expect((await index.nearestByEcg(own!, 1))[0]!.patientRef).toBe('Patient/p3');

    // Only even patients have a report embedding.
    const byReport = await index.nearestByReport(own!, 30);
    expect(byReport).toHaveLength(15);
    expect(byReport.every((h) => h.reportRef !== undefined)).toBe(true);

    const fresh = createCaseIndex({ pool, model: 'clip@1', dimensions: DIM });
    expect(await fresh.rebuild()).toBe(30);
    expect((await fresh.nearestByEcg(own!, 5, 'Patient/p3')).map((h) => h.patientRef)).toEqual(hits.map((h) => h.patientRef));

    const other = createCaseIndex({ pool, model: 'clip@2', dimensions: DIM });
    expect(await other.rebuild()).toBe(0);
    expect(await other.nearestByEcg(own!, 5)).toEqual([]);
  });

  it('replaces a patient’s case on re-indexing', async () => {
    const index = createCaseIndex({ pool, model: 'clip@1', dimensions: DIM });
    const target = unit([1, 1, 1, 1, 1, 1, 1, 1]);
    await index.upsert({ patientRef: 'Patient/p5', ecgRef: 'Observation/p5-ecg-2', ecgEmbedding: target });
    await index.rebuild();
    const [hit] = await index.nearestByEcg(target, 1);
    expect(hit).toMatchObject({ patientRef: 'Patient/p5', ecgRef: 'Observation/p5-ecg-2' });
    expect(hit!.reportRef).toBeUndefined();
    const count = await pool.query('SELECT count(*)::int AS n FROM similar_case WHERE patient_ref = $1', ['Patient/p5']);
    expect(count.rows[0].n).toBe(1);
  });

  it('sees cases another process indexed, and their re-indexing, before answering a query', async () => {
    const a = createCaseIndex({ pool, model: 'clip@3', dimensions: DIM });
    const b = createCaseIndex({ pool, model: 'clip@3', dimensions: DIM, refreshIntervalMs: 0 });
    await b.rebuild();
    const first = unit([1, 0, 0, 0, 0, 0, 0, 0]);
    const second = unit([0, 0, 0, 0, 0, 0, 0, 1]);
    await a.upsert({ patientRef: 'Patient/x1', ecgRef: 'Observation/x1-ecg', ecgEmbedding: first });
    await a.upsert({ patientRef: 'Patient/x2', ecgRef: 'Observation/x2-ecg', ecgEmbedding: second });
    expect((await b.nearestByEcg(first, 1))[0]!.patientRef).toBe('Patient/x1');
    expect(b.size()).toBe(2);
    // x1 re-indexed by process A with x2's direction: B follows the new version.
    await a.upsert({ patientRef: 'Patient/x1', ecgRef: 'Observation/x1-ecg-2', ecgEmbedding: second });
    const hits = await b.nearestByEcg(second, 2);
    expect(hits.map((h) => h.similarity.toFixed(3))).toEqual(['1.000', '1.000']);
    expect(await b.refresh()).toBe(0);
  });
});
