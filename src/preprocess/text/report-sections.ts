/** A section of a radiology/cardiology report, by its normalised heading. */
export interface ReportSection {
  /** Upper-case heading (`FINDINGS`, `IMPRESSION`, ...) or `BODY` for text before any heading. */
  heading: string;
  text: string;
}

/**
 * Headings recognised at the start of a line (ACR practice parameter for communication of
 * diagnostic imaging findings: history/indication, technique, comparison, findings, impression).
 */
const HEADINGS = [
  'CLINICAL HISTORY', 'CLINICAL INDICATION', 'CLINICAL INFORMATION', 'HISTORY', 'INDICATION', 'INDICATIONS', 'REASON FOR EXAM', 'REASON FOR STUDY',
  'TECHNIQUE', 'COMPARISON', 'COMPARISONS', 'PROCEDURE', 'FINDINGS', 'FINDING', 'IMPRESSION', 'IMPRESSIONS', 'CONCLUSION', 'CONCLUSIONS',
  'INTERPRETATION', 'SUMMARY', 'RECOMMENDATION', 'RECOMMENDATIONS', 'OPINION',
];

const HEADING_LINE = new RegExp(`^\\s*(${HEADINGS.map((h) => h.replace(/ /g, '\\s+')).join('|')})\\s*:\\s*`, 'i');

/** Sections that state the clinical question rather than findings ("rule out pneumonia"). */
export const QUESTION_SECTIONS: ReadonlySet<string> = new Set([
  'CLINICAL HISTORY', 'CLINICAL INDICATION', 'CLINICAL INFORMATION', 'HISTORY', 'INDICATION', 'INDICATIONS', 'REASON FOR EXAM', 'REASON FOR STUDY',
]);

/**
 * Splits report text into sections at `HEADING:` markers that start a line (or the text). Text
 * before the first heading is the `BODY` section; sections keep their order.
 */
export function splitSections(text: string): ReportSection[] {
  const sections: ReportSection[] = [];
  let current: ReportSection = { heading: 'BODY', text: '' };
  for (const line of text.split('\n')) {
    const match = HEADING_LINE.exec(line);
    if (match) {
      if (current.text.trim()) sections.push({ heading: current.heading, text: current.text.trim() });
      current = { heading: match[1]!.toUpperCase().replace(/\s+/g, ' '), text: line.slice(match[0].length) + '\n' };
    } else {
      current.text += line + '\n';
    }
  }
  if (current.text.trim()) sections.push({ heading: current.heading, text: current.text.trim() });
  return sections;
}
