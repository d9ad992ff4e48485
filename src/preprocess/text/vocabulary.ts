import { fail, ok, type PreprocessResult } from '../result.js';

/** Id of the padding token (manifest contract: index 0). */
export const PAD_ID = 0;
/** Id of the unknown-token token (manifest contract: index 1). */
export const UNKNOWN_ID = 1;
/** Token strings at the reserved ids. */
export const PAD_TOKEN = '<pad>';
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

/** Options for {@link buildVocabulary}. */
export interface BuildVocabularyOptions {
  /** Tokens seen fewer times are left out (map to unknown). Default 2. */
  minCount?: number;
  /** Largest vocabulary size including the two reserved ids. Default 20,000. */
  maxSize?: number;
}

/**
 * Builds a vocabulary file from already tokenised texts (the output of `reportTokens`), most
 * frequent first, ties broken alphabetically so the file is reproducible. Used by the training
 * recipe; the file it returns is what `parseVocabulary` reads.
 */
export function buildVocabulary(tokenisedTexts: Iterable<readonly string[]>, options: BuildVocabularyOptions = {}): VocabularyFile {
  const minCount = options.minCount ?? 2;
  const maxSize = options.maxSize ?? 20_000;
  const counts = new Map<string, number>();
  for (const tokens of tokenisedTexts) for (const t of tokens) counts.set(t, (counts.get(t) ?? 0) + 1);
  const ranked = [...counts.entries()]
    .filter(([t, c]) => c >= minCount && t !== PAD_TOKEN && t !== UNKNOWN_TOKEN)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, Math.max(0, maxSize - 2))
    .map(([t]) => t);
  return { tokens: [PAD_TOKEN, UNKNOWN_TOKEN, ...ranked] };
}
