import { escapeHtml } from '../../src/http/escape-html.js';

function inline(text: string): string {
  // Backslash escapes first (CommonMark §2.4), held aside so emphasis cannot match them.
  const held: string[] = [];
  const protectedText = text.replace(/\\([\\`*_{}[\]()#+\-.!|<>])/g, (_m, ch: string) => {
    held.push(ch);
    return `\u0000${held.length - 1}\u0000`;
  });
  let html = escapeHtml(protectedText)
    .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>')
    .replace(/(^|[\s(])_([^_]+)_(?=$|[\s).,])/g, '$1<em>$2</em>');
  // NUL-delimited placeholders cannot occur in card text, so held-back code spans survive the markup pass.
  // eslint-disable-next-line no-control-regex
  html = html.replace(/\u0000(\d+)\u0000/g, (_m, i: string) => escapeHtml(held[Number(i)] ?? ''));
  return html;
}

/**
 * Renders the Markdown subset card details use (paragraphs, `- ` lists, `**strong**`, `_em_`,
 * backslash escapes) to HTML, escaping everything else: card text is data, never markup. Enough
 * to show a card the way CDS clients render GitHub Flavored Markdown details.
 */
export function renderCardMarkdown(markdown: string): string {
  const out: string[] = [];
  let list: string[] | undefined;
  let paragraph: string[] = [];
  const flushParagraph = (): void => {
    if (paragraph.length > 0) out.push(`<p>${paragraph.map(inline).join('<br>')}</p>`);
    paragraph = [];
  };
  const flushList = (): void => {
    if (list) out.push(`<ul>${list.map((i) => `<li>${inline(i)}</li>`).join('')}</ul>`);
    list = undefined;
  };
  for (const line of markdown.split('\n')) {
    if (line.startsWith('- ')) {
      flushParagraph();
      (list ??= []).push(line.slice(2));
    } else if (line.trim() === '') {
      flushParagraph();
      flushList();
    } else {
      flushList();
      paragraph.push(line);
    }
  }
  flushParagraph();
  flushList();
  return out.join('\n');
}
