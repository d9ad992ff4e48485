/**
 * HL7 v2 DTM/TS values (v2.5.1 §2A.3.22 DTM: `YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ]`) to
 * FHIR `dateTime` (R4 §2.24.0.1: a time needs seconds and an offset). A time without an offset
 * takes `defaultOffset` — MSH-7's offset when the sender gave one, else UTC (documented in
 * docs/hl7v2-intake.md; v2 says "the sender's local time zone", which the receiver cannot know).
 */
const DTM = /^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\.\d{1,4})?([+-]\d{4})?$/;

/** The offset (`+hhmm`) a DTM carries, if any. */
export function hl7Offset(value: string): string | undefined {
  return DTM.exec(value.trim())?.[8];
}

/** FHIR dateTime of a DTM, or undefined when it is not one (or not a real date). */
export function hl7TimeToFhir(value: string, defaultOffset = '+0000'): string | undefined {
  const m = DTM.exec(value.trim());
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac, offset] = m;
  if (mo === undefined) return y;
  if (Number(mo) < 1 || Number(mo) > 12) return undefined;
  if (d === undefined) return `${y}-${mo}`;
  const date = `${y}-${mo}-${d}`;
  const check = new Date(`${date}T00:00:00Z`);
  if (Number.isNaN(check.getTime()) || check.toISOString().slice(0, 10) !== date) return undefined;
  if (h === undefined) return date;
  if (Number(h) > 23 || Number(mi ?? 0) > 59 || Number(s ?? 0) > 59) return undefined;
  const zone = offset ?? defaultOffset;
  if (Number(zone.slice(1, 3)) > 14 || Number(zone.slice(3)) > 59) return undefined;
  return `${date}T${h}:${mi ?? '00'}:${s ?? '00'}${frac ?? ''}${zone.slice(0, 3)}:${zone.slice(3)}`;
}
