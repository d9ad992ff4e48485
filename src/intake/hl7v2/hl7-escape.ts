/**
 * HL7 v2 escape sequences (HL7 v2.5.1 §2.7 "Use of escape sequences in text fields"). A value
 * read from a field is unescaped once, after splitting on the separators, so an escaped separator
 * never splits a value; a value written into an ACK is escaped with the ACK's own separators.
 */

/** The separators and escape character a message declares in MSH-1 and MSH-2. */
export interface Hl7Delimiters {
  field: string;
  component: string;
  repetition: string;
  escape: string;
  subcomponent: string;
}

/** The recommended delimiters (`|^~\&`), which fhir-fusion's ACKs use. */
export const DEFAULT_DELIMITERS: Hl7Delimiters = {
  field: '|',
  component: '^',
  repetition: '~',
  escape: '\\',
  subcomponent: '&',
};

/** Longest escape sequence looked at; a longer run without the closing escape is literal text. */
const MAX_ESCAPE_LENGTH = 512;

/**
 * Replaces escape sequences: `\F\ \S\ \T\ \R\ \E\` by the delimiter they stand for, `\Xhh…\` by
 * the bytes (Latin-1), `\.br\` (FT line break, §2.7.6) and `\.sp\` by a line feed; highlighting
 * (`\H\ \N\`), other formatting commands, character-set switches (`\C…\ \M…\`, §2.7.5) and locally
 * defined escapes (`\Z…\`) are dropped. An unterminated or unknown sequence is kept as text.
 */
export function unescapeHl7(value: string, d: Hl7Delimiters): string {
  const e = d.escape;
  if (e === '' || !value.includes(e)) return value;
  let out = '';
  let i = 0;
  while (i < value.length) {
    const ch = value[i]!;
    if (ch !== e) {
      out += ch;
      i++;
      continue;
    }
    const close = value.indexOf(e, i + 1);
    if (close === -1 || close - i > MAX_ESCAPE_LENGTH) {
      out += value.slice(i);
      break;
    }
    const body = value.slice(i + 1, close);
    const replaced = escapeMeaning(body, d);
    if (replaced === undefined) {
      // Not an escape sequence: keep the escape character literally and go on after it.
      out += ch;
      i++;
      continue;
    }
    out += replaced;
    i = close + 1;
  }
  return out;
}

function escapeMeaning(body: string, d: Hl7Delimiters): string | undefined {
  switch (body) {
    case 'F':
      return d.field;
    case 'S':
      return d.component;
    case 'T':
      return d.subcomponent;
    case 'R':
      return d.repetition;
    case 'E':
      return d.escape;
    case 'H':
    case 'N':
      return '';
    case '.br':
    case '.sp':
      return '\n';
  }
  if (/^X(?:[0-9A-Fa-f]{2})+$/.test(body)) return Buffer.from(body.slice(1), 'hex').toString('latin1');
  if (/^\.(?:sp|in|ti|sk|ce|fi|nf)[+-]?\d*$/.test(body)) return body.startsWith('.sp') ? '\n' : '';
  if (/^[CMZ][0-9A-Za-z]*$/.test(body)) return '';
  return undefined;
}

/** Escapes a value for a field of a message using `d` (the inverse of {@link unescapeHl7}). */
export function escapeHl7(value: string, d: Hl7Delimiters = DEFAULT_DELIMITERS): string {
  let out = '';
  for (const ch of value) {
    if (ch === d.escape) out += `${d.escape}E${d.escape}`;
    else if (ch === d.field) out += `${d.escape}F${d.escape}`;
    else if (ch === d.component) out += `${d.escape}S${d.escape}`;
    else if (ch === d.subcomponent) out += `${d.escape}T${d.escape}`;
    else if (ch === d.repetition) out += `${d.escape}R${d.escape}`;
    else if (ch === '\r' || ch === '\n') out += `${d.escape}.br${d.escape}`;
    else out += ch;
  }
  return out;
}
