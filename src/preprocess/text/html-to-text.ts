/** Elements whose whole content is dropped: it is never report prose (and may be active content). */
const DROPPED_ELEMENTS = new Set(['script', 'style', 'head', 'title', 'template', 'noscript']);
/** Elements that end a line, so sentences and section headings stay apart after tag removal. */
const BLOCK_ELEMENTS = new Set(['br', 'p', 'div', 'li', 'tr', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'table', 'ul', 'ol', 'section', 'pre', 'blockquote', 'hr', 'dt', 'dd']);

const NAMED_ENTITIES: Record<string, string> = {
  amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ', ndash: '–', mdash: '—', deg: '°', plusmn: '±', micro: 'µ', times: '×',
};

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]{1,6}|#[0-9]{1,7}|[a-z]{2,8});/gi, (whole, body: string) => {
    if (body[0] === '#') {
      const code = body[1] === 'x' || body[1] === 'X' ? parseInt(body.slice(2), 16) : parseInt(body.slice(1), 10);
      return Number.isFinite(code) && code > 0 && code <= 0x10ffff && (code < 0xd800 || code > 0xdfff) ? String.fromCodePoint(code) : ' ';
    }
    return NAMED_ENTITIES[body.toLowerCase()] ?? whole;
  });
}

/**
 * Plain text from an HTML (or XHTML narrative) report. A linear scanner rather than a regular
 * expression over the whole document, so hostile input cannot cause catastrophic backtracking;
 * the content of script/style elements and comments is dropped, block elements become line
 * breaks, and character references are decoded. The output is text only: it is never rendered.
 */
export function htmlToText(html: string): string {
  let out = '';
  let i = 0;
  let dropping: string | undefined;
  const n = html.length;
  while (i < n) {
    const lt = html.indexOf('<', i);
    if (lt < 0) {
      if (!dropping) out += html.slice(i);
      break;
    }
    if (!dropping) out += html.slice(i, lt);
    if (html.startsWith('<!--', lt)) {
      const end = html.indexOf('-->', lt + 4);
      i = end < 0 ? n : end + 3;
      continue;
    }
    const gt = html.indexOf('>', lt + 1);
    if (gt < 0) break; // an unterminated tag: everything after it is markup, not text
    const inner = html.slice(lt + 1, gt);
    const match = /^\s*(\/?)\s*([a-zA-Z][a-zA-Z0-9:-]*)/.exec(inner);
    i = gt + 1;
    if (!match) continue;
    const closing = match[1] === '/';
    const name = match[2]!.toLowerCase().replace(/^.*:/, '');
    if (dropping) {
      if (closing && name === dropping) dropping = undefined;
      continue;
    }
    if (!closing && DROPPED_ELEMENTS.has(name) && !inner.trimEnd().endsWith('/')) {
      dropping = name;
      continue;
    }
    if (BLOCK_ELEMENTS.has(name)) out += '\n';
    else out += ' ';
  }
  return decodeEntities(out)
    .replace(/[ \t\f\v\u00a0]+/g, ' ')
    .replace(/ *\n[ \n]*/g, '\n')
    .trim();
}
