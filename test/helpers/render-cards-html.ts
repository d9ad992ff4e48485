import type { CdsCard } from '../../src/review/cds-hooks/cds-hooks-types.js';
import { escapeHtml } from '../../src/http/escape-html.js';
import { renderCardMarkdown } from './render-card-markdown.js';

const INDICATOR_COLOUR: Record<CdsCard['indicator'], string> = {
  info: '#1f6feb',
  warning: '#d4a72c',
  critical: '#cf222e',
};

function renderCard(card: CdsCard): string {
  const source = card.source.url
    ? `<a href="${escapeHtml(card.source.url)}">${escapeHtml(card.source.label)}</a>`
    : escapeHtml(card.source.label);
  const links = (card.links ?? [])
    .map((l) => `<a class="link" data-type="${escapeHtml(l.type)}" href="${escapeHtml(l.url)}">${escapeHtml(l.label)}${l.type === 'smart' ? ' ↗' : ''}</a>`)
    .join('');
  const reasons = (card.overrideReasons ?? []).map((r) => `<option>${escapeHtml(r.display ?? r.code ?? '')}</option>`).join('');
  return `<article class="card ${card.indicator}" data-uuid="${escapeHtml(card.uuid)}" style="border-left-color:${INDICATOR_COLOUR[card.indicator]}">
<header><span class="indicator">${escapeHtml(card.indicator)}</span><h2>${escapeHtml(card.summary)}</h2></header>
${card.detail ? `<div class="detail">${renderCardMarkdown(card.detail)}</div>` : ''}
<footer><div class="source">Source: ${source}</div><div class="links">${links}</div>
${reasons ? `<div class="dismiss"><select aria-label="Override reason"><option>Dismiss because…</option>${reasons}</select></div>` : ''}</footer>
</article>`;
}

/**
 * A self-contained HTML page showing CDS Hooks cards as EHR CDS clients lay them out (the CDS
 * Hooks sandbox style): indicator colour bar, summary as heading, Markdown detail, source label
 * and link, link buttons (SMART links marked), override reasons. Used for the README screenshot
 * and for operators checking what clinicians will see.
 */
export function renderCardsHtml(cards: readonly CdsCard[], title = 'CDS Hooks cards'): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f6f8fa;margin:0;padding:16px;color:#1f2328}
h1{font-size:15px;margin:0 0 12px;color:#57606a;font-weight:600}
.card{background:#fff;border:1px solid #d0d7de;border-left:6px solid;border-radius:6px;padding:12px 16px;margin-bottom:12px;max-width:760px}
.card header{display:flex;gap:10px;align-items:baseline}
.card h2{font-size:16px;margin:0}
.indicator{font-size:11px;text-transform:uppercase;letter-spacing:.05em;color:#fff;border-radius:10px;padding:1px 8px}
.info .indicator{background:${INDICATOR_COLOUR.info}}.warning .indicator{background:${INDICATOR_COLOUR.warning}}.critical .indicator{background:${INDICATOR_COLOUR.critical}}
.detail p{margin:8px 0}.detail ul{margin:4px 0 8px;padding-left:20px}
footer{display:flex;flex-wrap:wrap;gap:12px;align-items:center;border-top:1px solid #eaeef2;margin-top:8px;padding-top:8px;font-size:13px;color:#57606a}
.links{display:flex;gap:8px}.link{background:#1f6feb;color:#fff;text-decoration:none;border-radius:5px;padding:4px 10px}
.empty{color:#57606a}
</style></head>
<body><h1>${escapeHtml(title)}</h1>
${cards.length === 0 ? '<p class="empty">No cards.</p>' : cards.map(renderCard).join('\n')}
</body></html>`;
}
