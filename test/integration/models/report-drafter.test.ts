import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DescriptionDraftResult } from '../../../src/contracts/description-draft.js';
import { parseNpy } from '../../../src/inference/manifest/npy-format.js';
import {
  openDescriptionDrafter,
  type BatchDescriptionDrafter,
} from '../../../src/inference/runtime/description-drafter.js';
import { verifyDraftModel } from '../../../src/inference/runtime/draft-registry.js';
import { generateCohort } from '../../../src/sandbox/cohort/index.js';

// The shipped drafting model (trained on synthetic data), verified and served from worker threads.
const MODEL_DIR = resolve('models/report-drafter/1');
const SILENT = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};
const SIZE = 64 * 64;

/** Every given and family name the synthetic cohort draws (400 patients cover the lists). */
function syntheticNames(): Set<string> {
  const names = new Set<string>();
  for (const p of generateCohort({
    patients: 400,
    seed: 7,
    now: new Date('2026-01-15T12:00:00Z'),
    dicomwebBaseUrl: 'http://localhost/dicomweb',
    labelsOnly: true,
  })) {
    const patient = p.resources.find((r): r is Patient => r.resourceType === 'Patient');
    for (const n of patient?.name ?? [])
      for (const part of [n.family, ...(n.given ?? [])]) if (part) names.add(part.toLowerCase());
  }
  return names;
}

/** Identifier-like content: digit runs, dates, e-mail, or a synthetic patient's name as a word. */
function identifierProblems(text: string, names: ReadonlySet<string>): string[] {
  const problems: string[] = [];
  if (/\d/.test(text)) problems.push('digit');
  if (/@/.test(text)) problems.push('at-sign');
  for (const w of text.toLowerCase().match(/[a-z]+/g) ?? []) if (names.has(w)) problems.push(`name ${w}`);
  return problems;
}

let drafter: BatchDescriptionDrafter;
let names: Set<string>;
beforeAll(async () => {
  names = syntheticNames();
  drafter = await openDescriptionDrafter({ dir: MODEL_DIR, logger: SILENT });
});
afterAll(async () => {
  await drafter?.close();
});

describe('report-drafter@1 (synthetic training data)', () => {
  it('has a vocabulary with no identifier-like token: no digits and no synthetic patient name', () => {
    expect(names.size).toBeGreaterThan(20);
    const words = drafter.tokens.filter((t) => !t.startsWith('<'));
    expect(words.length).toBeGreaterThan(50);
    for (const w of words) {
      expect(w).toMatch(/^(?:[a-z]+|[.,;])$/);
      expect(names.has(w)).toBe(false);
    }
  });

  it('drafts text within the caps, without identifiers, for hostile images', async () => {
    let seed = 1;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
    const hostile = {
      zeros: new Float32Array(SIZE),
      noise: Float32Array.from({ length: SIZE }, () => random() * 3),
      saturated: new Float32Array(SIZE).fill(1e6),
      negative: new Float32Array(SIZE).fill(-1e6),
      stripes: Float32Array.from({ length: SIZE }, (_, i) => ((i >> 3) % 2 ? 40 : -40)),
    };
    const drafts = await drafter.draftBatch(Object.values(hostile));
    const { maxCharacters } = drafter.manifest.decoding;
    drafts.forEach((d) => {
      expect(d.status).toBe('drafted');
      if (d.status !== 'drafted') return;
      expect(d.text.length).toBeLessThanOrEqual(maxCharacters);
      expect(identifierProblems(d.text, names)).toEqual([]);
      expect(d.modelSha256).toMatch(/^[0-9a-f]{64}$/);
    });
  });

  it('drafts a description of a held-out radiograph through the single-image contract', async () => {
    // The golden input: held-out test radiographs, normalised as the manifest says.
    const golden = parseNpy(readFileSync(join(MODEL_DIR, 'golden-input-image.npy')));
    const image = Float32Array.from(golden.data.subarray(0, SIZE) as Float32Array);
    const result = await drafter.draft({ image, imageDims: [1, 64, 64] });
    expect(result).toMatchObject({
      status: 'drafted',
      modelName: 'report-drafter',
      modelVersion: '1',
      truncated: false,
    });
    const text = (result as Extract<DescriptionDraftResult, { status: 'drafted' }>).text;
    expect(text).toMatch(/^[A-Z][A-Za-z ,;.]+\.$/);
    expect(text).toMatch(/heart|cardiac|cardiomegaly/i);
  });

  it('refuses, naming why, when the image was refused or absent, mis-shaped or not finite', async () => {
    expect(
      await drafter.draft({
        image: new Float32Array(0),
        imageDims: [1, 0, 0],
        imageUnavailable: 'image refused in preprocessing: multiframe',
      }),
    ).toEqual({
      status: 'not-drafted',
      reason: 'no usable image: image refused in preprocessing: multiframe',
    });
    expect(await drafter.draft({ image: new Float32Array(32 * 32), imageDims: [1, 32, 32] })).toEqual({
      status: 'not-drafted',
      reason: 'image tensor is [1, 32, 32]; the drafting model needs [1, 64, 64]',
    });
    const nan = new Float32Array(SIZE);
    nan[5] = Number.NaN;
    expect(await drafter.draft({ image: nan, imageDims: [1, 64, 64] })).toEqual({
      status: 'not-drafted',
      reason: 'image tensor holds non-finite values',
    });
  });

  it('is verified for `models verify`, and a tampered graph or identifier-like vocabulary is refused', async () => {
    expect(await verifyDraftModel({ dir: MODEL_DIR, executionProviders: ['cpu'], logger: SILENT })).toEqual({
      key: 'report-drafter@1',
      ok: true,
      problems: [],
    });
    const root = mkdtempSync(join(tmpdir(), 'report-drafter-'));
    try {
      const dir = join(root, 'report-drafter', '1');
      cpSync(MODEL_DIR, dir, { recursive: true });
      writeFileSync(
        join(dir, 'decoder-step.onnx'),
        Buffer.concat([readFileSync(join(dir, 'decoder-step.onnx')), Buffer.from([1])]),
      );
      const tampered = await verifyDraftModel({ dir, executionProviders: ['cpu'], logger: SILENT });
      expect(tampered.problems).toEqual([expect.stringMatching(/decoder-step\.onnx: sha256 mismatch/)]);
      // An MRN-like token in the vocabulary, re-hashed so only the vocabulary check can catch it.
      cpSync(MODEL_DIR, dir, { recursive: true });
      const vocabulary = JSON.parse(readFileSync(join(dir, 'vocabulary.json'), 'utf8')) as {
        tokens: string[];
      };
      vocabulary.tokens[vocabulary.tokens.length - 1] = 'mrn00123456';
      writeFileSync(join(dir, 'vocabulary.json'), JSON.stringify(vocabulary));
      const manifest = JSON.parse(readFileSync(join(dir, 'draft-manifest.json'), 'utf8'));
      manifest.files['vocabulary.json'] = createHash('sha256')
        .update(readFileSync(join(dir, 'vocabulary.json')))
        .digest('hex');
      writeFileSync(join(dir, 'draft-manifest.json'), JSON.stringify(manifest));
      const leaky = await verifyDraftModel({ dir, executionProviders: ['cpu'], logger: SILENT });
      expect(leaky.problems).toEqual([
        expect.stringMatching(/vocabulary\.json: token \d+ "mrn00123456" is not a lower-case word/),
      ]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
