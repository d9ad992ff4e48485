import type { Patient } from '@medplum/fhirtypes';

/** Kinds of patient identifier the guard looks for; what a log line may name (never the value). */
export type IdentifierKind = 'name' | 'identifier' | 'birth-date' | 'telecom' | 'resource-id';

const MONTHS = [
  'january',
  'february',
  'march',
  'april',
  'may',
  'june',
  'july',
  'august',
  'september',
  'october',
  'november',
  'december',
];

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** `value` as a whole word (letters and digits either side do not count as a boundary), case-insensitive. */
function containsWord(haystack: string, value: string): boolean {
  return new RegExp(`(?<![\\p{L}\\p{N}])${escapeRegExp(value)}(?![\\p{L}\\p{N}])`, 'iu').test(haystack);
}

/** Letters and digits only, lower-cased: "MRN 12-345/6" and "123456" compare equal. */
function compact(text: string): string {
  return text.toLowerCase().replace(/[^\p{L}\p{N}]/gu, '');
}

/** The ways a birth date is commonly written (ISO, d/m/y, m/d/y with / . -, "14 March 1956", "March 14, 1956"). */
function birthDateForms(iso: string): string[] {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso);
  if (!match) return [iso];
  const [, y = '', m = '', d = ''] = match;
  const month = MONTHS[Number(m) - 1] ?? '';
  const dd = String(Number(d));
  const mm = String(Number(m));
  const numeric = [`${d}/${m}/${y}`, `${m}/${d}/${y}`, `${dd}/${mm}/${y}`, `${mm}/${dd}/${y}`].flatMap(
    (f) => [f, f.replace(/\//g, '.'), f.replace(/\//g, '-')],
  );
  return [
    iso,
    `${y}${m}${d}`,
    ...numeric,
    `${dd} ${month} ${y}`,
    `${month} ${dd}, ${y}`,
    `${month} ${dd} ${y}`,
  ];
}

/**
 * Which kinds of the patient's identifiers appear in a generated text: any given or family name
 * part (two letters or more, as a whole word), name text, identifier value (e.g. the MRN, also with
 * separators dropped), birth date in the usual spellings, telecom value or the resource id.
 * Generated text must never carry an identifier (HIPAA §164.514(b) lists names, dates related to the
 * individual, record numbers and telephone numbers among them), so a draft with any of them is not
 * written; the caller logs the kinds, never the values.
 */
export function identifiersInText(text: string, patient: Patient): IdentifierKind[] {
  const found = new Set<IdentifierKind>();
  const lower = text.toLowerCase();
  const compactText = compact(text);
  for (const name of patient.name ?? []) {
    const parts = [...(name.given ?? []), ...(name.family ? name.family.split(/\s+/) : []), name.text ?? ''];
    if (parts.some((p) => p.trim().length >= 2 && containsWord(text, p.trim()))) found.add('name');
  }
  for (const id of patient.identifier ?? []) {
    const value = id.value?.trim() ?? '';
    if (value.length < 3) continue;
    const squeezed = compact(value);
    if (containsWord(text, value) || (squeezed.length >= 5 && compactText.includes(squeezed)))
      found.add('identifier');
  }
  if (
    patient.birthDate &&
    birthDateForms(patient.birthDate).some((form) => lower.includes(form.toLowerCase()))
  ) {
    found.add('birth-date');
  }
  for (const telecom of patient.telecom ?? []) {
    const value = telecom.value?.trim() ?? '';
    const digits = value.replace(/\D/g, '');
    // A phone number is written with or without its country or trunk prefix: compare the last
    // seven digits (the subscriber number), separators dropped.
    const phoneTail = digits.length >= 7 && !value.includes('@') ? digits.slice(-7) : '';
    if (
      (value.length >= 3 && lower.includes(value.toLowerCase())) ||
      (phoneTail && compactText.includes(phoneTail))
    ) {
      found.add('telecom');
    }
  }
  if (patient.id && patient.id.length >= 4 && containsWord(text, patient.id)) found.add('resource-id');
  return [...found];
}
