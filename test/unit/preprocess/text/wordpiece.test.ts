import { describe, expect, it } from 'vitest';
import {
  basicTokens,
  wordpieceTokens,
  wordpieceWord,
  type WordpieceOptions,
} from '../../../../src/preprocess/text/wordpiece.js';
import {
  encodeWordpiece,
  parseWordpieceVocabulary,
  reportTextForSubwords,
  wordpieceSettings,
} from '../../../../src/preprocess/text/wordpiece-encoding.js';
import type { Vocabulary } from '../../../../src/preprocess/text/vocabulary.js';

// Expected outputs below are worked out by hand from the algorithm as BERT describes it (basic
// tokenization, then greedy longest-match-first WordPiece with `##` continuations), not from
// running another implementation.
const VOCAB_LINES = [
  '[PAD]',
  '[UNK]',
  '[CLS]',
  '[SEP]', // ids 0-3
  'un',
  '##aff',
  '##able', // 4-6: the example of the BERT reference description
  'no',
  'pleural',
  'effusion',
  '##s',
  '.',
  ',',
  '-',
  '$', // 7-14
  'ab',
  'a',
  '##b',
  '##c',
  '##bc',
  '##a', // 15-20
  'epanchement',
  'left',
  'sided',
  '5',
  '肺',
  '炎',
  'x', // 21-27
];
const settings = wordpieceSettings({ lowercase: true });
const vocabulary = parseOk(VOCAB_LINES.join('\n') + '\n');

function parseOk(text: string, s = settings): Vocabulary {
  const r = parseWordpieceVocabulary(text, s);
  if (!r.ok) throw new Error(r.detail);
  return r.value;
}

const options: WordpieceOptions = settings;

describe('WordPiece: greedy longest-match-first', () => {
  it('splits "unaffable" into un ##aff ##able', () => {
    expect(wordpieceWord('unaffable', vocabulary.ids, options)).toEqual(['un', '##aff', '##able']);
  });

  it('takes the longest piece at each position, not the segmentation with fewest pieces', () => {
    // "abc": "abc" is not in the vocabulary, "ab" is → "ab", then "##c"; "a ##bc" is never tried.
    expect(wordpieceWord('abc', vocabulary.ids, options)).toEqual(['ab', '##c']);
    // "aaa": "a", then "##a", "##a" (no "##aa").
    expect(wordpieceWord('aaa', vocabulary.ids, options)).toEqual(['a', '##a', '##a']);
  });

  it('makes the whole word unknown when any position has no piece, never a partial segmentation', () => {
    // "abx": "ab" matches, but no "##x" / "##bx" exists → [UNK] for the whole word.
    expect(wordpieceWord('abx', vocabulary.ids, options)).toEqual(['[UNK]']);
    // "x" on its own is a word in the vocabulary; as a continuation it is not.
    expect(wordpieceWord('x', vocabulary.ids, options)).toEqual(['x']);
  });

  it('makes a word longer than maxCharsPerWord unknown without trying', () => {
    expect(wordpieceWord('a'.repeat(100), vocabulary.ids, options)).toEqual(['a', ...Array(99).fill('##a')]);
    expect(wordpieceWord('a'.repeat(101), vocabulary.ids, options)).toEqual(['[UNK]']);
    expect(wordpieceWord('aaa', vocabulary.ids, { ...options, maxCharsPerWord: 2 })).toEqual(['[UNK]']);
  });
});

describe('WordPiece: basic tokenization', () => {
  it('lower-cases, splits off punctuation and continues plurals', () => {
    expect(wordpieceTokens('No pleural effusions.', vocabulary.ids, options)).toEqual([
      'no',
      'pleural',
      'effusion',
      '##s',
      '.',
    ]);
  });

  it('treats every non-alphanumeric ASCII character as punctuation, one token each', () => {
    expect(basicTokens('Left-sided,$5', { lowercase: true, stripAccents: true })).toEqual([
      'left',
      '-',
      'sided',
      ',',
      '$',
      '5',
    ]);
    expect(basicTokens('a...b', { lowercase: false, stripAccents: false })).toEqual([
      'a',
      '.',
      '.',
      '.',
      'b',
    ]);
  });

  it('keeps case when lowercase is off, and strips accents only when asked', () => {
    expect(basicTokens('No Épanchement', { lowercase: false, stripAccents: false })).toEqual([
      'No',
      'Épanchement',
    ]);
    expect(basicTokens('Épanchement', { lowercase: true, stripAccents: false })).toEqual(['épanchement']);
    expect(basicTokens('Épanchement', { lowercase: true, stripAccents: true })).toEqual(['epanchement']);
    expect(wordpieceTokens('Épanchement', vocabulary.ids, options)).toEqual(['epanchement']);
    // Unicode punctuation (the em dash and the guillemets are category P) splits like ASCII.
    expect(basicTokens('«a—b»', { lowercase: true, stripAccents: true })).toEqual(['«', 'a', '—', 'b', '»']);
  });

  it('drops NUL, U+FFFD and other control or format characters; tab, newline and CR are spaces', () => {
    expect(basicTokens('a\u0000b\uFFFDc\u200Bd', { lowercase: true, stripAccents: true })).toEqual(['abcd']);
    expect(basicTokens('a\tb\nc\r\nd\u00A0e', { lowercase: true, stripAccents: true })).toEqual([
      'a',
      'b',
      'c',
      'd',
      'e',
    ]);
  });

  it('splits every CJK ideograph into its own word, and keeps an emoji as one unknown character', () => {
    expect(wordpieceTokens('肺炎x', vocabulary.ids, options)).toEqual(['肺', '炎', 'x']);
    // U+1F600 is one code point (two UTF-16 units) of category So: one word, not in the vocabulary.
    expect(basicTokens('x😀', { lowercase: true, stripAccents: true })).toEqual(['x😀']);
    expect(wordpieceTokens('x 😀', vocabulary.ids, options)).toEqual(['x', '[UNK]']);
  });

  it('gives nothing for empty or whitespace-only text', () => {
    expect(wordpieceTokens('', vocabulary.ids, options)).toEqual([]);
    expect(wordpieceTokens(' \n\t ', vocabulary.ids, options)).toEqual([]);
  });
});

describe('WordPiece: model input', () => {
  const ids = (a: BigInt64Array) => Array.from(a, Number);

  it('wraps the pieces in [CLS] … [SEP], pads with [PAD] and masks the padding', () => {
    const e = encodeWordpiece('No pleural effusions.', vocabulary, settings, 10);
    expect(ids(e.ids)).toEqual([2, 7, 8, 9, 10, 11, 3, 0, 0, 0]);
    expect(ids(e.attentionMask)).toEqual([1, 1, 1, 1, 1, 1, 1, 0, 0, 0]);
    expect(ids(e.tokenTypes)).toEqual(Array(10).fill(0));
  });

  it('encodes empty text as [CLS] [SEP] and padding', () => {
    const e = encodeWordpiece('', vocabulary, settings, 4);
    expect(ids(e.ids)).toEqual([2, 3, 0, 0]);
    expect(ids(e.attentionMask)).toEqual([1, 1, 0, 0]);
  });

  it('truncates long text to maxTokens − 2 pieces, even inside a word, and always ends with [SEP]', () => {
    const long = 'unaffable '.repeat(2000);
    const e = encodeWordpiece(long, vocabulary, settings, 6);
    expect(e.pieces).toHaveLength(6000);
    expect(ids(e.ids)).toEqual([2, 4, 5, 6, 4, 3]);
    expect(ids(e.attentionMask)).toEqual([1, 1, 1, 1, 1, 1]);
  });

  it('uses the ids of the special tokens the manifest names, wherever they sit in the vocabulary', () => {
    const custom = wordpieceSettings({
      lowercase: false,
      wordpiece: {
        specialTokens: { unknown: '<unk>', classification: '<s>', separator: '</s>', padding: '<pad>' },
      },
    });
    const v = parseOk(['<s>', '<pad>', '</s>', '<unk>', 'x'].join('\r\n'), custom);
    const e = encodeWordpiece('x y', v, custom, 6);
    expect(ids(e.ids)).toEqual([0, 4, 3, 2, 1, 1]);
    expect(ids(e.attentionMask)).toEqual([1, 1, 1, 1, 0, 0]);
  });

  it('refuses a vocabulary that lacks a special token or repeats a token, naming the line', () => {
    const missing = parseWordpieceVocabulary('[PAD]\n[UNK]\n[CLS]\n', settings);
    expect(missing.ok).toBe(false);
    if (!missing.ok) expect(missing.detail).toBe('vocabulary has no special token [SEP]');
    const repeated = parseWordpieceVocabulary('[PAD]\n[UNK]\n[CLS]\n[SEP]\nx\nx\n', settings);
    expect(repeated.ok).toBe(false);
    if (!repeated.ok) expect(repeated.detail).toBe('vocabulary line 6 repeats the token on line 5');
  });

  it('reads a report without the sections that only state the clinical question', () => {
    const text = 'INDICATION: rule out pneumonia\nFINDINGS: No pleural effusion.\nIMPRESSION: Normal.';
    expect(reportTextForSubwords(text)).toBe('No pleural effusion.\nNormal.');
  });
});
