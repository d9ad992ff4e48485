import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseManifest } from '../../../../src/inference/manifest/manifest-schema.js';
import { repoRoot } from '../../../helpers/fixtures.js';

/** The WordPiece example's manifest (test/fixtures/byo-models, written by models/training/byo_example.py). */
type Manifest = {
  files: Record<string, string>;
  inputs: Array<{ name: string; dtype: string; shape: number[]; role: string }>;
  preprocessing: Record<string, Record<string, unknown> | undefined>;
  outOfDistribution?: unknown;
};
const load = (): Manifest =>
  JSON.parse(
    readFileSync(join(repoRoot, 'test/fixtures/byo-models/wordpiece-text/1/manifest.json'), 'utf8'),
  ) as Manifest;

function issues(manifest: Manifest): Array<{ pointer: string; message: string }> {
  const result = parseManifest(manifest);
  return result.ok ? [] : result.issues;
}

describe('manifest: text inputs and the WordPiece tokenizer (issue 19 point 6)', () => {
  it('accepts the WordPiece example with input ids, attention mask and token types', () => {
    expect(issues(load())).toEqual([]);
  });

  it('requires the vocabulary to be hashed in files, so a swapped vocab.txt is caught at start-up', () => {
    const m = load();
    delete m.files['vocab.txt'];
    expect(issues(m)).toContainEqual({
      pointer: '/preprocessing/text/tokenizer',
      message: "'vocab.txt' must be listed with its sha256 in /files",
    });
  });

  it('refuses a text input that is not int64 or not maxTokens long, naming the input', () => {
    const m = load();
    m.inputs[1]!.dtype = 'int32';
    m.inputs[2]!.shape = [-1, 64];
    expect(issues(m)).toEqual([
      { pointer: '/inputs/1/dtype', message: "'text-attention-mask' must be int64" },
      {
        pointer: '/inputs/2/shape',
        message: 'must be [-1, 32] (or [-1, -1]) to match /preprocessing/text/maxTokens',
      },
    ]);
  });

  it('refuses an attention mask without text preprocessing, and WordPiece-only settings on the word tokenizer', () => {
    const noText = load();
    delete noText.preprocessing.text;
    expect(
      issues(noText)
        .map((i) => i.pointer)
        .sort(),
    ).toEqual([
      '/abstention/minimumInformation/anyOf/0/modality',
      '/inputs/0/role',
      '/inputs/1/role',
      '/inputs/2/role',
    ]);
    const word = load();
    word.preprocessing.text!.tokenizerType = 'word';
    expect(issues(word)).toEqual([
      { pointer: '/preprocessing/text/wordpiece', message: "applies only with tokenizerType 'wordpiece'" },
    ]);
  });

  it('refuses room for fewer than [CLS], one token and [SEP], and an unknown special-token key', () => {
    const m = load();
    m.preprocessing.text!.maxTokens = 2;
    m.inputs.forEach((i) => (i.shape = [-1, -1]));
    expect(issues(m)).toEqual([
      {
        pointer: '/preprocessing/text/maxTokens',
        message: 'must leave room for [CLS], a token and [SEP] (at least 3)',
      },
    ]);
    const extra = load();
    (extra.preprocessing.text!.wordpiece as { specialTokens: Record<string, string> }).specialTokens.mask =
      '[MASK]';
    expect(issues(extra)).toContainEqual({
      pointer: '/preprocessing/text/wordpiece/specialTokens/mask',
      message: 'is not an allowed property',
    });
  });
});
