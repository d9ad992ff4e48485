import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DiagnosticReport } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelManifest } from '../../../../src/contracts/manifest-types.js';
import type { PatientRecord } from '../../../../src/contracts/patient-record.js';
import { preprocessRecord } from '../../../../src/preprocess/preprocess-record.js';

/** Text tensors for both tokenizers through `preprocessRecord`, the function the pipeline calls. */
const asOf = '2024-05-01T12:00:00Z';
const report: DiagnosticReport = {
  resourceType: 'DiagnosticReport',
  id: 'rep',
  status: 'final',
  category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0074', code: 'RAD' }] }],
  code: { text: 'Chest X-ray' },
  effectiveDateTime: '2024-05-01T09:00:00Z',
  conclusion: 'INDICATION: rule out effusion\nIMPRESSION: Cardiomegaly. No pleural effusion.',
};
const missing = { status: 'missing' as const, reason: 'none-in-window' as const, detail: 'none' };
const record: PatientRecord = {
  patient: { resourceType: 'Patient', id: 'pat' },
  asOf,
  roundTrips: 1,
  modalities: {
    tabular: missing,
    text: { status: 'present', data: [report], sources: [{ resourceType: 'DiagnosticReport', id: 'rep' }] },
    image: missing,
    ecg: missing,
  },
};

function manifest(text: NonNullable<ModelManifest['preprocessing']['text']>): ModelManifest {
  return {
    schemaVersion: 1,
    name: 'text',
    version: '1',
    title: 't',
    description: 't',
    trainingData: { synthetic: true, description: 'none' },
    files: {},
    inputs: [
      { name: 'ids', dtype: 'int64', shape: [-1, 8], role: 'text-tokens' },
      { name: 'mask', dtype: 'int64', shape: [-1, 8], role: 'text-attention-mask' },
      { name: 'types', dtype: 'int64', shape: [-1, 8], role: 'text-token-types' },
    ],
    outputs: [{ name: 'p', dtype: 'float32', shape: [-1, 1], role: 'probabilities' }],
    preprocessing: { text },
    outcomes: [],
    applicability: { requires: ['text'], toleratesMissing: [] },
  };
}
const base = { lookbackHours: 48, categories: ['RAD'], maxTokens: 8, lowercase: true };
const numbers = (a: unknown) => Array.from(a as BigInt64Array, Number);

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'fhir-fusion-text-'));
  writeFileSync(
    join(dir, 'vocabulary.json'),
    JSON.stringify({ tokens: ['<pad>', '<unk>', 'cardiomegaly', 'NEG_pleural', 'NEG_effusion'] }),
  );
  // [CLS] and [SEP] deliberately not at BERT's ids: the ids come from the file.
  writeFileSync(
    join(dir, 'vocab.txt'),
    [
      '[PAD]',
      '[UNK]',
      'cardio',
      '##me',
      '##gal',
      '##y',
      '.',
      'no',
      'pleural',
      '[SEP]',
      '[CLS]',
      'effusion',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'bad-vocab.txt'), '[PAD]\n[UNK]\n[CLS]\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('text input tensors', () => {
  it('word tokenizer: NegEx tokens, and an attention mask over the tokens it produced', () => {
    const out = preprocessRecord(record, manifest({ ...base, tokenizer: 'vocabulary.json' }), dir);
    expect(numbers(out.tensors.ids!.data)).toEqual([2, 3, 4, 0, 0, 0, 0, 0]);
    expect(numbers(out.tensors.mask!.data)).toEqual([1, 1, 1, 0, 0, 0, 0, 0]);
    expect(numbers(out.tensors.types!.data)).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('WordPiece: question sections dropped, [CLS] pieces [SEP] with the vocabulary ids, truncated to 8', () => {
    const out = preprocessRecord(
      record,
      manifest({ ...base, tokenizer: 'vocab.txt', tokenizerType: 'wordpiece' }),
      dir,
    );
    expect(out.presence.text).toBe(true);
    // cardiomegaly → cardio ##me ##gal ##y; "." ; no ; (pleural effusion . cut off) ; [SEP]
    expect(numbers(out.tensors.ids!.data)).toEqual([10, 2, 3, 4, 5, 6, 7, 9]);
    expect(numbers(out.tensors.mask!.data)).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
    expect(out.tensors.ids!.dims).toEqual([1, 8]);
  });

  it('a WordPiece vocabulary missing a special token makes the text missing with the reason, not an exception', () => {
    const out = preprocessRecord(
      record,
      manifest({ ...base, tokenizer: 'bad-vocab.txt', tokenizerType: 'wordpiece' }),
      dir,
    );
    expect(out.presence.text).toBe(false);
    expect(out.missing).toEqual([
      { modality: 'text', reason: 'invalid-value', detail: 'vocabulary has no special token [SEP]' },
    ]);
    expect(numbers(out.tensors.mask!.data)).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
  });
});
