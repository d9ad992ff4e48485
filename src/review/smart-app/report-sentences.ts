import { reportTokens } from '../../preprocess/text/tokenize-report.js';

/** A report sentence as the text model read it. */
export interface ReportSentence {
  text: string;
  section: string;
  /** `positive` findings drive the text modality; negated ones are read as absent (NegEx). */
  assertion: 'positive' | 'negated' | 'uncertain';
}

/**
 * The sentences the text modality read, with the NegEx assertion the preprocessing gave them
 * (`src/preprocess/text`): question sections (history, indication) are skipped exactly as the
 * model input skips them. Positive findings first, since they move the text contribution most.
 */
export function reportSentences(text: string): ReportSentence[] {
  const { sentences } = reportTokens(text, { lowercase: true });
  const rank = { positive: 0, uncertain: 1, negated: 2 } as const;
  return sentences
    .map((s) => ({
      text: s.text,
      section: s.section,
      assertion: s.negated ? ('negated' as const) : s.uncertain ? ('uncertain' as const) : ('positive' as const),
    }))
    .sort((a, b) => rank[a.assertion] - rank[b.assertion]);
}
