/**
 * WordPiece tokenization as BERT defines it (Devlin et al. 2019, §3 and the reference
 * implementation's description): a basic tokenizer (clean control characters, split CJK ideographs,
 * split on whitespace, optionally lower-case and strip accents, split off every punctuation
 * character), then greedy longest-match-first WordPiece over each word, continuation pieces carrying
 * a prefix (`##`). A word with no complete segmentation, or longer than `maxCharsPerWord`, becomes
 * the unknown token as a whole — never a partial segmentation.
 */

/** Options of {@link basicTokens} and {@link wordpieceTokens}. */
export interface WordpieceOptions {
  lowercase: boolean;
  /** Drop combining marks after NFD decomposition (`é` → `e`); BERT uncased does this. */
  stripAccents: boolean;
  /** Prefix of a piece that continues a word (BERT: `##`). */
  continuationPrefix: string;
  /** Longer words are the unknown token without trying (BERT: 100). */
  maxCharsPerWord: number;
  unknownToken: string;
}

/** Vocabulary lookup: piece string → id. */
export type PieceIds = ReadonlyMap<string, number>;

// Unicode categories BERT's basic tokenizer tests: other (C*) characters are dropped, every
// space separator is whitespace, every P* character is punctuation.
// Tab, newline and carriage return are whitespace, not control characters, as in BERT.
const CONTROL = /^\p{C}$/u;
const WHITESPACE = /^[ \t\n\r\p{Zs}]$/u;
const UNICODE_PUNCTUATION = /^\p{P}$/u;
const COMBINING_MARK = /\p{Mn}/gu;

/** BERT treats all non-letter/number ASCII (`$`, `+`, `^`, `` ` ``...) as punctuation, beyond Unicode P*. */
function isPunctuation(ch: string): boolean {
  const cp = ch.codePointAt(0) ?? 0;
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126))
    return true;
  return UNICODE_PUNCTUATION.test(ch);
}

/** CJK Unified Ideographs blocks (not Hangul or kana, which are space-separated in practice). */
function isCjkIdeograph(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b820 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

/**
 * The basic tokenizer: words and single punctuation characters, in order. Iterates code points, so a
 * character outside the BMP (an emoji) is one character, never two surrogate halves.
 */
export function basicTokens(
  text: string,
  options: Pick<WordpieceOptions, 'lowercase' | 'stripAccents'>,
): string[] {
  let cleaned = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0) ?? 0;
    if (cp === 0 || cp === 0xfffd) continue;
    if (WHITESPACE.test(ch)) cleaned += ' ';
    else if (CONTROL.test(ch)) continue;
    else if (isCjkIdeograph(cp)) cleaned += ` ${ch} `;
    else cleaned += ch;
  }
  const out: string[] = [];
  for (let word of cleaned.split(' ')) {
    if (word === '') continue;
    if (options.lowercase) word = word.toLowerCase();
    if (options.stripAccents) word = word.normalize('NFD').replace(COMBINING_MARK, '');
    let current = '';
    for (const ch of word) {
      if (isPunctuation(ch)) {
        if (current) out.push(current);
        out.push(ch);
        current = '';
      } else current += ch;
    }
    if (current) out.push(current);
  }
  return out;
}

/**
 * Greedy longest-match-first WordPiece over one word: at each position take the longest vocabulary
 * entry starting there (`##`-prefixed after the first piece). If some position has no match, the
 * whole word is the unknown token.
 */
export function wordpieceWord(word: string, vocabulary: PieceIds, options: WordpieceOptions): string[] {
  const chars = Array.from(word);
  if (chars.length > options.maxCharsPerWord) return [options.unknownToken];
  const pieces: string[] = [];
  let start = 0;
  while (start < chars.length) {
    let end = chars.length;
    let match: string | undefined;
    while (start < end) {
      const piece = (start > 0 ? options.continuationPrefix : '') + chars.slice(start, end).join('');
      if (vocabulary.has(piece)) {
        match = piece;
        break;
      }
      end -= 1;
    }
    if (match === undefined) return [options.unknownToken];
    pieces.push(match);
    start = end;
  }
  return pieces;
}

/** {@link basicTokens} then {@link wordpieceWord} on each word: the text's WordPiece tokens, untruncated. */
export function wordpieceTokens(text: string, vocabulary: PieceIds, options: WordpieceOptions): string[] {
  return basicTokens(text, options).flatMap((word) => wordpieceWord(word, vocabulary, options));
}
