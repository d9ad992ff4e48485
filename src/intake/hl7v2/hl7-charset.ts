/**
 * MSH-18 character sets (HL7 v2.5.1 Table 0211) and how their bytes are decoded. An empty MSH-18
 * means the default, ASCII (§2.15.9.18); fhir-fusion reads it as UTF-8, of which ASCII is a subset,
 * since many senders put UTF-8 in messages without saying so. Multi-byte sets are decoded with the
 * WHATWG decoders Node ships (full ICU); a set not listed is refused (AE, ERR on MSH-18).
 */

/** Table 0211 value → decoder; `latin1` is Node's exact ISO 8859-1 (WHATWG maps it to windows-1252). */
const CHARSETS: Readonly<Record<string, string>> = {
  '': 'utf-8',
  ASCII: 'utf-8',
  'ISO IR6': 'utf-8',
  'UNICODE UTF-8': 'utf-8',
  'ISO IR192': 'utf-8',
  '8859/1': 'latin1',
  'ISO IR100': 'latin1',
  '8859/2': 'iso-8859-2',
  'ISO IR101': 'iso-8859-2',
  '8859/3': 'iso-8859-3',
  'ISO IR109': 'iso-8859-3',
  '8859/4': 'iso-8859-4',
  'ISO IR110': 'iso-8859-4',
  '8859/5': 'iso-8859-5',
  'ISO IR144': 'iso-8859-5',
  '8859/6': 'iso-8859-6',
  'ISO IR127': 'iso-8859-6',
  '8859/7': 'iso-8859-7',
  'ISO IR126': 'iso-8859-7',
  '8859/8': 'iso-8859-8',
  'ISO IR138': 'iso-8859-8',
  '8859/9': 'iso-8859-9',
  'ISO IR148': 'iso-8859-9',
  '8859/15': 'iso-8859-15',
  'GB 18030-2000': 'gb18030',
  'KS X 1001': 'euc-kr',
  'BIG-5': 'big5',
  'CNS 11643-1992': 'big5',
  'ISO IR87': 'iso-2022-jp',
};

/**
 * Decodes a message's bytes in the character set MSH-18 names. Returns undefined for a set not in
 * the table, or bytes that are not valid in it (a fatal decoder: no silent U+FFFD in results).
 */
export function decodeHl7Bytes(bytes: Buffer, msh18: string): string | undefined {
  const decoder = CHARSETS[msh18.trim().toUpperCase()];
  if (decoder === undefined) return undefined;
  if (decoder === 'latin1') return bytes.toString('latin1');
  try {
    return new TextDecoder(decoder, { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

/** Whether MSH-18 names a character set fhir-fusion can decode. */
export function isKnownCharset(msh18: string): boolean {
  return CHARSETS[msh18.trim().toUpperCase()] !== undefined;
}
