import { reportTokens, type TextSpec } from './tokenize-report.js';
import { PAD_TOKEN, UNKNOWN_TOKEN, type VocabularyFile } from './vocabulary.js';

/** Options for {@link buildVocabulary}. */
export interface BuildVocabularyOptions extends Pick<TextSpec, 'lowercase' | 'negationPrefix'> {
  /** Tokens seen fewer times are left out (they map to unknown). Default 2. */
  minCount?: number;
  /** Largest vocabulary size including the two reserved ids. Default 20,000. */
  maxSize?: number;
}

/**
 * Builds a tokenizer vocabulary file for the training recipe from report texts, tokenised exactly
 * as at inference (`reportTokens`: sections, NegEx prefixes), most frequent first with ties broken
 * alphabetically so the file is reproducible. Id 0 is `<pad>`, id 1 `<unk>` (manifest contract).
 */
export function buildVocabulary(texts: Iterable<string>, options: BuildVocabularyOptions): VocabularyFile {
  const minCount = options.minCount ?? 2;
  const maxSize = options.maxSize ?? 20_000;
  const counts = new Map<string, number>();
  for (const text of texts) {
    for (const t of reportTokens(text, options).tokens) counts.set(t, (counts.get(t) ?? 0) + 1);
  }
  const ranked = [...counts.entries()]
    .filter(([t, c]) => c >= minCount && t !== PAD_TOKEN && t !== UNKNOWN_TOKEN)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, Math.max(0, maxSize - 2))
    .map(([t]) => t);
  return { tokens: [PAD_TOKEN, UNKNOWN_TOKEN, ...ranked] };
}
