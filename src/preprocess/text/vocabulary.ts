import { fail, ok, type PreprocessResult } from '../result.js';

/** Id of the padding token (manifest contract: index 0). */
export const PAD_ID = 0;
/** Id of the unknown-token token (manifest contract: index 1). */
export const UNKNOWN_ID = 1;
/** Token string at the padding id. */
export const PAD_TOKEN = '<pad>';
/** Token string at the unknown id. */
export const UNKNOWN_TOKEN = '<unk>';

/** A loaded tokenizer vocabulary: the file's token list and its reverse index. */
export interface Vocabulary {
  tokens: readonly string[];
  ids: ReadonlyMap<string, number>;
}

/** The vocabulary file format in a model's version folder. */
export interface VocabularyFile {
  tokens: string[];
}

/**
 * Parses a vocabulary file (`{ "tokens": [...] }`, index = id, 0 = pad, 1 = unknown) into a
 * {@link Vocabulary}. Callers load it once per model version and pass it in: it is not cached here.
 */
export function parseVocabulary(json: unknown): PreprocessResult<Vocabulary> {
  if (typeof json !== 'object' || json === null || !Array.isArray((json as { tokens?: unknown }).tokens)) {
    return fail('invalid-value', 'vocabulary file must be an object with a "tokens" array');
  }
  const tokens = (json as { tokens: unknown[] }).tokens;
  if (tokens.length < 2) return fail('invalid-value', 'vocabulary needs at least the pad and unknown tokens');
  const ids = new Map<string, number>();
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (typeof t !== 'string') return fail('invalid-value', `tokens[${i}] is not a string`);
    if (i >= 2 && !ids.has(t)) ids.set(t, i);
  }
  return ok({ tokens: tokens as string[], ids });
}
