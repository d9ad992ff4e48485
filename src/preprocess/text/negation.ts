/** NegEx assertion status of a word (Chapman et al., J Biomed Inform 2001;34:301-10). */
export type Assertion = 'affirmed' | 'negated' | 'uncertain';

/** A word with its assertion status, in sentence order. */
export interface AssertedWord {
  word: string;
  assertion: Assertion;
}

/** A sentence split into asserted words. */
export interface AssertedSentence {
  text: string;
  words: AssertedWord[];
  /** True when any word in the sentence is in a negation scope. */
  negated: boolean;
  /** True when any word in the sentence is in an uncertainty (hedging) scope. */
  uncertain: boolean;
}

/** Phrases that negate what follows (NegEx pre-negation triggers). */
const PRE_NEGATION = [
  'no evidence of', 'no signs of', 'no sign of', 'no findings of', 'negative for', 'free of', 'absence of', 'without evidence of',
  'without', 'no', 'not', 'denies', 'denied', 'never', 'ruled out', 'resolution of', 'clear of',
];
/** Phrases that negate what precedes them (NegEx post-negation triggers). */
const POST_NEGATION = ['has resolved', 'have resolved', 'resolved', 'is absent', 'are absent', 'absent', 'not seen', 'not identified', 'was ruled out', 'ruled out', 'excluded'];
/** Phrases that make what follows uncertain (NegEx "possible" triggers, hedging). */
const PRE_UNCERTAIN = [
  'cannot be excluded', 'cannot exclude', 'can not exclude', 'cannot rule out', 'can not rule out', 'not excluded', 'rule out', 'r/o',
  'possible', 'possibly', 'probable', 'probably', 'likely', 'may represent', 'may be', 'might be', 'could represent', 'could be',
  'suspicious for', 'suspected', 'concerning for', 'questionable', 'equivocal', 'suggestive of', 'versus', 'vs',
];
/** Phrases that make what precedes them uncertain. */
const POST_UNCERTAIN = ['cannot be excluded', 'can not be excluded', 'not excluded', 'cannot be ruled out', 'is not excluded', 'is possible', 'is suspected', 'is likely'];
/** Phrases that look like triggers but are not (NegEx pseudo-triggers). */
const PSEUDO = ['no change', 'no significant change', 'no interval change', 'not only', 'no increase', 'not necessarily', 'gram negative', 'without difficulty', 'not cause'];
/** Words that end a trigger's scope (NegEx termination terms: conjunctions that change the subject). */
const TERMINATORS = new Set(['but', 'however', 'although', 'though', 'except', 'yet', 'which', 'whereas', 'apart', 'aside', 'nevertheless', 'still']);

/** Scope length in words after (or before) a trigger (NegEx uses a fixed window; 8 fits lists). */
const SCOPE_WORDS = 8;

function phraseWords(list: string[]): string[][] {
  return list.map((p) => p.split(' ')).sort((a, b) => b.length - a.length);
}
const PRE_NEG = phraseWords(PRE_NEGATION);
const POST_NEG = phraseWords(POST_NEGATION);
const PRE_UNC = phraseWords(PRE_UNCERTAIN);
const POST_UNC = phraseWords(POST_UNCERTAIN);
const PSEUDO_W = phraseWords(PSEUDO);

function matchAt(words: readonly string[], i: number, phrases: string[][]): number {
  for (const phrase of phrases) {
    if (phrase.every((p, k) => words[i + k] === p)) return phrase.length;
  }
  return 0;
}

/**
 * Splits text into sentences and clauses: a sentence ends at `.`, `!`, `?` or a line break; within
 * a sentence `,`, `;` and `:` end a trigger's scope (NegEx treats punctuation as a terminator).
 */
function splitSentences(text: string): string[] {
  return text
    .split(/(?<=[.!?])\s+|\n+/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** Words (in their original case), commas, and clause breaks (`null`) of one sentence. */
function wordsOf(sentence: string): Array<string | null | ','> {
  const out: Array<string | null | ','> = [];
  const re = /[A-Za-z0-9]+(?:['/-][A-Za-z0-9]+)*|[,;:()]/g;
  for (const m of sentence.matchAll(re)) out.push(m[0] === ',' ? ',' : /^[;:()]$/.test(m[0]) ? null : m[0]);
  return out;
}

/**
 * Groups words into clauses. `;`, `:` and brackets always end a clause. A comma ends one too,
 * except inside an enumeration closed by "or"/"nor" ("No pneumothorax, pleural effusion, or
 * focal consolidation"), where a negation must reach every item of the list.
 */
function clauses(words: Array<string | null | ','>): string[][] {
  const out: string[][] = [];
  let segments: string[][] = [[]];
  const closeGroup = () => {
    let lastListEnd = -1;
    segments.forEach((seg, k) => {
      if (k > 0 && seg.some((w) => /^(or|nor)$/i.test(w))) lastListEnd = k;
    });
    if (lastListEnd > 0) out.push(segments.slice(0, lastListEnd + 1).flat());
    out.push(...segments.slice(lastListEnd > 0 ? lastListEnd + 1 : 0));
    segments = [[]];
  };
  for (const w of words) {
    if (w === null) closeGroup();
    else if (w === ',') segments.push([]);
    else segments[segments.length - 1]!.push(w);
  }
  closeGroup();
  return out.filter((c) => c.length > 0);
}

function assertClause(clause: readonly string[]): { status: Assertion[]; isTrigger: Array<false | 'negation' | 'uncertainty'> } {
  const status: Assertion[] = clause.map(() => 'affirmed');
  const isTrigger: Array<false | 'negation' | 'uncertainty'> = clause.map(() => false);
  const apply = (from: number, to: number, step: 1 | -1, value: Assertion) => {
    let count = 0;
    for (let j = from; step === 1 ? j < to : j >= to; j += step) {
      if (TERMINATORS.has(clause[j]!)) break;
      if (isTrigger[j]) continue;
      // Negation outranks uncertainty: "no definite effusion, cannot exclude" stays negated.
      if (status[j] !== 'negated') status[j] = value;
      if (++count >= SCOPE_WORDS) break;
    }
  };
  let i = 0;
  while (i < clause.length) {
    const pseudo = matchAt(clause, i, PSEUDO_W);
    if (pseudo) {
      i += pseudo;
      continue;
    }
    const postUnc = matchAt(clause, i, POST_UNC);
    const preUnc = matchAt(clause, i, PRE_UNC);
    const postNeg = matchAt(clause, i, POST_NEG);
    const preNeg = matchAt(clause, i, PRE_NEG);
    const longest = Math.max(postUnc, preUnc, postNeg, preNeg);
    if (!longest) {
      i++;
      continue;
    }
    const kind = postUnc === longest || preUnc === longest ? 'uncertainty' : 'negation';
    for (let k = i; k < i + longest; k++) isTrigger[k] = kind;
    // Ties go to uncertainty: "cannot exclude" contains the negation word "not".
    if (postUnc === longest) apply(i - 1, 0, -1, 'uncertain');
    else if (preUnc === longest) apply(i + longest, clause.length, 1, 'uncertain');
    else if (postNeg === longest) apply(i - 1, 0, -1, 'negated');
    else apply(i + longest, clause.length, 1, 'negated');
    i += longest;
  }
  return { status, isTrigger };
}

/**
 * Marks each word of the text as affirmed, negated or uncertain with NegEx-style rules: trigger
 * phrases (`no`, `without`, `negative for`, post-position `resolved`; hedges such as `cannot
 * exclude`, `possible`) open a scope of up to eight words that ends at punctuation (a comma
 * only outside an "or" list) or a conjunction such as `but`. Negation trigger words are dropped from `words`; hedging cues are kept.
 */
export function assertSentences(text: string): AssertedSentence[] {
  return splitSentences(text).map((sentence) => {
    const words: AssertedWord[] = [];
    for (const clause of clauses(wordsOf(sentence))) {
      const { status, isTrigger } = assertClause(clause.map((w) => w.toLowerCase()));
      clause.forEach((word, k) => {
        // Negation cues are carried by the prefix on the words they negate; hedging cues stay as
        // words of their own so the model still sees "possible", "cannot exclude".
        if (isTrigger[k] !== 'negation') words.push({ word, assertion: isTrigger[k] ? 'affirmed' : status[k]! });
      });
    }
    return {
      text: sentence,
      words,
      negated: words.some((w) => w.assertion === 'negated'),
      uncertain: words.some((w) => w.assertion === 'uncertain'),
    };
  });
}
