import type { ModalityPreprocessing } from '../../contracts/manifest-types.js';
import { assertSentences } from './negation.js';
import { QUESTION_SECTIONS, splitSections } from './report-sections.js';
import { PAD_ID, UNKNOWN_ID, type Vocabulary } from './vocabulary.js';

/** The manifest's text preprocessing section. */
export type TextSpec = NonNullable<ModalityPreprocessing['text']>;

/** One sentence as the tokenizer saw it. */
export interface TokenizedSentence {
  text: string;
  /** Section heading the sentence came from (`FINDINGS`, `IMPRESSION`, `BODY`, ...). */
  section: string;
  negated: boolean;
  /** A hedge (`cannot exclude`, `possible`) puts part of the sentence in doubt. */
  uncertain: boolean;
}

/** Model-ready text input. */
export interface TokenizedReport {
  /** Token ids, length `spec.maxTokens`, 0-padded (int64 for ONNX). */
  ids: BigInt64Array;
  /** Token strings before truncation, negated ones prefixed with `spec.negationPrefix`. */
  tokens: string[];
  sentences: TokenizedSentence[];
}

/** Default prefix for negated words when the manifest names none. */
export const DEFAULT_NEGATION_PREFIX = 'NEG_';

/**
 * Token strings of a report: sections that only state the clinical question (history,
 * indication — "rule out pneumonia") are skipped so the question is not read as a finding; every
 * other section is split into sentences, NegEx assertion is applied, and negated words get the
 * negation prefix (`No pleural effusion.` → `NEG_pleural NEG_effusion`).
 */
export function reportTokens(text: string, spec: Pick<TextSpec, 'lowercase' | 'negationPrefix'>): { tokens: string[]; sentences: TokenizedSentence[] } {
  const prefix = spec.negationPrefix ?? DEFAULT_NEGATION_PREFIX;
  const tokens: string[] = [];
  const sentences: TokenizedSentence[] = [];
  for (const section of splitSections(text)) {
    if (QUESTION_SECTIONS.has(section.heading)) continue;
    for (const sentence of assertSentences(section.text)) {
      sentences.push({ text: sentence.text, section: section.heading, negated: sentence.negated, uncertain: sentence.uncertain });
      for (const { word, assertion } of sentence.words) {
        const surface = spec.lowercase ? word.toLowerCase() : word;
        tokens.push(assertion === 'negated' ? `${prefix}${surface}` : surface);
      }
    }
  }
  return { tokens, sentences };
}

/**
 * Tokenizes report text for the model: {@link reportTokens}, then vocabulary lookup (unknown
 * words → id 1), truncation to `spec.maxTokens` and zero padding.
 */
export function tokenizeReport(text: string, vocab: Vocabulary, spec: TextSpec): TokenizedReport {
  const { tokens, sentences } = reportTokens(text, spec);
  const ids = new BigInt64Array(spec.maxTokens).fill(BigInt(PAD_ID));
  const n = Math.min(tokens.length, spec.maxTokens);
  for (let i = 0; i < n; i++) ids[i] = BigInt(vocab.ids.get(tokens[i]!) ?? UNKNOWN_ID);
  return { ids, tokens, sentences };
}
