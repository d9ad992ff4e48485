import { describe, expect, it } from 'vitest';
import { renderDrafts } from '../../../src/review/smart-app/draft-section.js';
import type { DraftView } from '../../../src/review/smart-app/draft-decision.js';

const ctx = { prefix: '/review', csrfToken: 'tok"en' };
const view = (overrides: Partial<DraftView> = {}): DraftView => ({
  id: 'dr-1',
  versionId: '2',
  state: 'not-reviewed',
  text: 'Enlarged heart.',
  issued: '2026-11-23T18:00:05.000Z',
  study: 'ImagingStudy/st-1/_history/1',
  ...overrides,
});

describe('the AI-drafted description panel', () => {
  it('offers Accept as final and Reject for a preliminary draft, posting the version shown and the form token', () => {
    const html = renderDrafts([view()], ctx);
    expect(html).toContain('AI-drafted, not reviewed by a clinician.');
    expect(html).toContain('action="/review/draft"');
    expect(html).toContain('name="version" value="2"');
    expect(html).toContain('name="csrf" value="tok&quot;en"');
    expect(html).toContain('value="accept">Accept as final</button>');
    expect(html).toContain('value="reject" class="secondary">Reject</button>');
  });

  it('shows a reviewed draft without actions, and escapes the generated text', () => {
    const html = renderDrafts([view({ state: 'accepted', text: '<script>alert(1)</script>' })], ctx);
    expect(html).toContain('AI-drafted, accepted as final by a clinician.');
    expect(html).not.toContain('<form');
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;');
  });

  it('renders nothing when there is no draft', () => {
    expect(renderDrafts([], ctx)).toBe('');
    expect(renderDrafts(undefined, ctx)).toBe('');
  });
});
