import { describe, expect, it } from 'vitest';
import { escapeMarkdown } from '../../../src/review/cds-hooks/card-detail-markdown.js';
import { renderCardMarkdown } from '../../helpers/render-card-markdown.js';
import { renderCardsHtml } from '../../helpers/render-cards-html.js';

describe('renderCardMarkdown', () => {
  it('renders lists, strong and emphasis, and escapes HTML', () => {
    expect(renderCardMarkdown('**A**: b\n\n- one\n- <script>x</script>\n\n_note_')).toBe(
      '<p><strong>A</strong>: b</p>\n<ul><li>one</li><li>&lt;script&gt;x&lt;/script&gt;</li></ul>\n<p><em>note</em></p>',
    );
  });

  it('shows escaped Markdown punctuation literally', () => {
    expect(renderCardMarkdown(escapeMarkdown('look-back **not bold**'))).toBe('<p>look-back **not bold**</p>');
  });
});

describe('renderCardsHtml', () => {
  it('shows summary, indicator, source link and SMART link of each card, escaped', () => {
    const html = renderCardsHtml([
      {
        uuid: 'u1',
        summary: 'High risk of <b>x</b>',
        indicator: 'critical',
        source: { label: 'Model v1', url: 'https://m.example/card' },
        links: [{ label: 'Open', url: 'https://app.example/launch', type: 'smart' }],
      },
    ]);
    expect(html).toContain('High risk of &lt;b&gt;x&lt;/b&gt;');
    expect(html).toContain('class="card critical"');
    expect(html).toContain('<a href="https://m.example/card">Model v1</a>');
    expect(html).toContain('data-type="smart" href="https://app.example/launch"');
    expect(renderCardsHtml([])).toContain('No cards.');
  });
});

describe('percent', () => {
  it('never shows a certain 0% or 100%', async () => {
    const { percent } = await import('../../../src/review/cds-hooks/card-detail-markdown.js');
    expect([percent(0.9971), percent(0.0001), percent(0.614), percent(undefined)]).toEqual(['>99%', '<1%', '61%', 'n/a']);
  });
});
