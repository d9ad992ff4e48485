import type { WordpieceSpec } from '../../contracts/manifest-types.js';
import { fail, ok, type PreprocessResult } from '../result.js';
import { QUESTION_SECTIONS, splitSections } from './report-sections.js';
import type { TextSpec } from './tokenize-report.js';
import type { Vocabulary } from './vocabulary.js';
import { wordpieceTokens, type WordpieceOptions } from './wordpiece.js';

/** A WordPiece spec with every default filled in. */
export interface WordpieceSettings extends WordpieceOptions {
  classificationToken: string;
  separatorToken: string;
  paddingToken: string;
}

/** The manifest's WordPiece settings with BERT's defaults (`[UNK]`, `[CLS]`, `[SEP]`, `[PAD]`, `##`, 100). */
export function wordpieceSettings(
  spec: Pick<TextSpec, 'lowercase'> & { wordpiece?: WordpieceSpec },
): WordpieceSettings {
  const w = spec.wordpiece ?? {};
  return {
    lowercase: spec.lowercase,
    stripAccents: w.stripAccents ?? spec.lowercase,
    continuationPrefix: w.continuationPrefix ?? '##',
    maxCharsPerWord: w.maxCharsPerWord ?? 100,
    unknownToken: w.specialTokens?.unknown ?? '[UNK]',
    classificationToken: w.specialTokens?.classification ?? '[CLS]',
    separatorToken: w.specialTokens?.separator ?? '[SEP]',
    paddingToken: w.specialTokens?.padding ?? '[PAD]',
  };
}

/**
 * Parses a BERT `vocab.txt` (one token per line, the line's zero-based number is its id; a trailing
 * newline ends the last line and is not a token). Refuses duplicate tokens (the id would be
 * ambiguous) and a vocabulary missing any of the four special tokens.
 */
export function parseWordpieceVocabulary(
  text: string,
  settings: WordpieceSettings,
): PreprocessResult<Vocabulary> {
  const lines = text.split('\n').map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line));
  if (lines[lines.length - 1] === '') lines.pop();
  const ids = new Map<string, number>();
  for (let i = 0; i < lines.length; i++) {
    const token = lines[i]!;
    if (ids.has(token))
      return fail(
        'invalid-value',
        `vocabulary line ${i + 1} repeats the token on line ${ids.get(token)! + 1}`,
      );
    ids.set(token, i);
  }
  for (const special of [
    settings.unknownToken,
    settings.classificationToken,
    settings.separatorToken,
    settings.paddingToken,
  ]) {
    if (!ids.has(special)) return fail('invalid-value', `vocabulary has no special token ${special}`);
  }
  return ok({ tokens: lines, ids });
}

/** Model-ready WordPiece input: three arrays of length `maxTokens` (int64 for ONNX). */
export interface WordpieceEncoding {
  /** `[CLS]` pieces… `[SEP]` then `[PAD]` ids. */
  ids: BigInt64Array;
  /** 1 over `[CLS]` … `[SEP]`, 0 over padding. */
  attentionMask: BigInt64Array;
  /** Segment ids: all 0 (one segment, BERT's sentence A). */
  tokenTypes: BigInt64Array;
  /** The pieces before truncation, without special tokens. */
  pieces: string[];
}

/**
 * Encodes text as BERT does for a single segment, padded to a fixed length: `[CLS]`, the first
 * `maxTokens − 2` WordPiece tokens (truncation keeps the start of the text and may cut a word between
 * pieces), `[SEP]`, then `[PAD]` up to `maxTokens`. Fixed length rather than the batch's longest row
 * because the dynamic batcher concatenates rows of identical shape (src/inference/README.md).
 */
export function encodeWordpiece(
  text: string,
  vocabulary: Vocabulary,
  settings: WordpieceSettings,
  maxTokens: number,
): WordpieceEncoding {
  const pieces = wordpieceTokens(text, vocabulary.ids, settings);
  const id = (token: string) =>
    BigInt(vocabulary.ids.get(token) ?? vocabulary.ids.get(settings.unknownToken) ?? 0);
  const ids = new BigInt64Array(maxTokens).fill(id(settings.paddingToken));
  const attentionMask = new BigInt64Array(maxTokens);
  const kept = pieces.slice(0, Math.max(0, maxTokens - 2));
  const sequence = [settings.classificationToken, ...kept, settings.separatorToken].slice(0, maxTokens);
  sequence.forEach((token, i) => {
    ids[i] = id(token);
    attentionMask[i] = 1n;
  });
  return { ids, attentionMask, tokenTypes: new BigInt64Array(maxTokens), pieces };
}

/**
 * The report text a WordPiece model reads: every section except those stating the clinical question
 * (history, indication: "rule out pneumonia" is not a finding), in order. No negation prefixes: a
 * subword model reads "no" itself.
 */
export function reportTextForSubwords(text: string): string {
  return splitSections(text)
    .filter((s) => !QUESTION_SECTIONS.has(s.heading))
    .map((s) => s.text)
    .join('\n');
}
