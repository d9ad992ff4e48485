import { splitSections } from './report-sections.js';

/**
 * Sections of a radiology report that describe the image (ACR practice parameter for
 * communication of diagnostic imaging findings: findings, then impression). Examination,
 * indication, technique and comparison say what was asked or done, not what the image shows, so a
 * drafting model is never trained to write them.
 */
const DESCRIPTION_SECTIONS: ReadonlySet<string> = new Set([
  'FINDINGS',
  'FINDING',
  'IMPRESSION',
  'IMPRESSIONS',
]);

/**
 * Patterns that may carry a patient identifier or a date: ISO and numeric dates, clock times, any
 * run of digits (MRNs, accession numbers, ages, measurements) and e-mail-like strings. Removed,
 * never replaced by a placeholder, so the target text has nothing for a model to copy.
 */
const IDENTIFIER_PATTERNS: readonly RegExp[] = [
  /\b\d{4}-\d{2}-\d{2}(?:T[\d:.+-]+Z?)?\b/g,
  /\b\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}\b/g,
  /\b\d{1,2}:\d{2}(?::\d{2})?\b/g,
  /\S+@\S+/g,
  /\b[A-Za-z]*\d[\w-]*\b/g,
];

/** Month names: a date written out ("3 March 2026") is a date even once its digits are gone. */
const MONTHS =
  /\b(?:january|february|march|april|may|june|july|august|september|october|november|december)\b/gi;

/**
 * Removes every identifier-like or date-like substring (see {@link IDENTIFIER_PATTERNS}) and
 * collapses the whitespace left behind. "May" as a verb is lost too: a dropped word costs less than
 * a leaked date.
 */
export function stripIdentifiers(text: string): string {
  let out = text;
  for (const pattern of IDENTIFIER_PATTERNS) out = out.replace(pattern, ' ');
  out = out.replace(MONTHS, ' ');
  return out
    .replace(/\s+([.,;])/g, '$1')
    .replace(/([.,;])(?:\s*[.,;])+/g, '$1')
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * The text a description-drafting model is trained to write for a radiology report: its FINDINGS
 * and IMPRESSION sections in order, identifiers and dates stripped. `undefined` when the report has
 * neither section (nothing about the image to learn from).
 */
export function reportDescriptionTarget(reportText: string): string | undefined {
  const kept = splitSections(reportText)
    .filter((s) => DESCRIPTION_SECTIONS.has(s.heading))
    .map((s) => s.text.replace(/\s+/g, ' ').trim())
    .filter((s) => s.length > 0);
  if (kept.length === 0) return undefined;
  const text = stripIdentifiers(kept.join(' '));
  return text.length > 0 ? text : undefined;
}

/**
 * Word-level tokens of a description, as the drafting model's vocabulary holds them: lower-case
 * letter runs and the punctuation that structures sentences (`.`, `,`, `;`). Anything else
 * (digits included) is dropped, so no identifier can become a token.
 */
export function descriptionWords(text: string): string[] {
  return [...text.toLowerCase().matchAll(/[a-z]+|[.,;]/g)].map((m) => m[0]);
}
