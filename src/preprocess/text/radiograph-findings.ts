import { assertSentences, type AssertedSentence } from './negation.js';

/** Chest radiograph findings the drafting evaluation checks (CheXpert-style observation labels). */
export const RADIOGRAPH_FINDINGS = [
  'cardiomegaly',
  'effusion',
  'consolidation',
  'oedema',
  'atelectasis',
  'pneumothorax',
] as const;

/** One of {@link RADIOGRAPH_FINDINGS}. */
export type RadiographFinding = (typeof RADIOGRAPH_FINDINGS)[number];

/** Words that name a finding on their own (lower case, as the report writes them). */
const FINDING_WORDS: Record<RadiographFinding, readonly string[]> = {
  cardiomegaly: ['cardiomegaly'],
  effusion: ['effusion', 'effusions'],
  consolidation: ['consolidation', 'pneumonia'],
  oedema: ['edema', 'oedema', 'congestion', 'cephalization', 'overload'],
  atelectasis: ['atelectasis'],
  pneumothorax: ['pneumothorax'],
};

/** "Enlarged heart" phrasings: an enlargement word in a sentence about the heart. */
const ENLARGED = new Set(['enlarged', 'enlargement']);
const HEART = new Set(['heart', 'cardiac']);
/** Opacity counts as consolidation when it is placed in a lobe ("opacity in the right lower lobe"). */
const OPACITY = new Set(['opacity', 'opacities']);

/**
 * The findings a radiology text asserts, with the project's NegEx-style assertion
 * (`negation.ts`): a finding counts when a word naming it is affirmed or hedged ("cannot exclude a
 * small effusion", "possible early pneumonia": a reader would act on both), not when negated ("no
 * pleural effusion", "without overt pulmonary edema"). Cardiomegaly is also "the heart is
 * enlarged"; consolidation is also an opacity placed in a lobe (a basal linear opacity is
 * atelectasis, perihilar opacities are oedema).
 */
export function radiographFindings(text: string): Set<RadiographFinding> {
  const found = new Set<RadiographFinding>();
  for (const sentence of assertSentences(text)) {
    const live = liveWords(sentence);
    for (const finding of RADIOGRAPH_FINDINGS)
      if (FINDING_WORDS[finding].some((w) => live.has(w))) found.add(finding);
    const words = new Set(sentence.words.map((w) => w.word.toLowerCase()));
    if ([...ENLARGED].some((w) => live.has(w)) && [...HEART].some((w) => words.has(w)))
      found.add('cardiomegaly');
    if ([...OPACITY].some((w) => live.has(w)) && words.has('lobe')) found.add('consolidation');
  }
  return found;
}

/** Lower-cased words of a sentence that are affirmed or uncertain (not negated). */
function liveWords(sentence: AssertedSentence): Set<string> {
  return new Set(sentence.words.filter((w) => w.assertion !== 'negated').map((w) => w.word.toLowerCase()));
}

/** Words that place a finding (side, zone): part of a sentence's signature, so "left" never becomes "right". */
const PLACE_WORDS = new Set([
  'left',
  'right',
  'bilateral',
  'upper',
  'middle',
  'lower',
  'lobe',
  'base',
  'perihilar',
]);

/**
 * What one sentence says in terms of findings: each finding it mentions with its assertion
 * (`affirmed`, `uncertain`, `negated`) and the place words it uses, as a stable string; empty when
 * it mentions no finding. Two sentences with the same signature say the same thing clinically
 * ("The heart is enlarged." and "Cardiomegaly."), which the drafting export uses to train on one
 * wording per meaning.
 */
export function findingSignature(sentence: string): string {
  const parts: string[] = [];
  const asserted = assertSentences(sentence);
  for (const finding of RADIOGRAPH_FINDINGS) {
    const levels = new Set<string>();
    for (const s of asserted) {
      const words = new Set(s.words.map((w) => w.word.toLowerCase()));
      for (const w of s.words) {
        const lower = w.word.toLowerCase();
        const names =
          FINDING_WORDS[finding].includes(lower) ||
          (finding === 'cardiomegaly' && ENLARGED.has(lower) && [...HEART].some((h) => words.has(h))) ||
          (finding === 'consolidation' && OPACITY.has(lower) && words.has('lobe'));
        if (names) levels.add(w.assertion);
      }
    }
    if (levels.size) parts.push(`${finding}:${[...levels].sort().join('+')}`);
  }
  if (parts.length === 0) return '';
  const places = [...new Set(sentence.toLowerCase().match(/[a-z]+/g) ?? [])]
    .filter((w) => PLACE_WORDS.has(w))
    .sort();
  return [...parts, ...places].join(' ');
}
