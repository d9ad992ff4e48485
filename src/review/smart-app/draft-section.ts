import type { Bundle, DiagnosticReport } from '@medplum/fhirtypes';
import { AIAST } from '../../contracts/fusion-terminology.js';
import { escapeHtml } from '../../http/escape-html.js';
import { reviewStatement } from '../../writeback/build-draft-report.js';
import type { ClinicianFhir } from './clinician-fhir.js';
import { draftView, isFusionDraft, type DraftView } from './draft-decision.js';

/**
 * The patient's AI-drafted descriptions, newest first, read with the clinician's token (an EHR that
 * refuses the search leaves the panel out; it never costs the clinician the page).
 */
export async function loadDrafts(fhir: ClinicianFhir, patientId: string): Promise<DraftView[]> {
  let bundle: Bundle;
  try {
    bundle = await fhir.search(
      'DiagnosticReport',
      new URLSearchParams({
        subject: `Patient/${patientId}`,
        _security: `${AIAST.system}|${AIAST.code}`,
        _count: '20',
      }),
    );
  } catch {
    return [];
  }
  return (bundle.entry ?? [])
    .map((e) => e.resource)
    .filter((r): r is DiagnosticReport => r?.resourceType === 'DiagnosticReport')
    .filter((r) => isFusionDraft(r) && r.subject?.reference === `Patient/${patientId}`)
    .map(draftView)
    .sort((a, b) => (b.issued ?? '').localeCompare(a.issued ?? ''));
}

function when(iso: string | undefined): string {
  if (!iso) return 'unknown time';
  const d = new Date(iso);
  return Number.isNaN(d.getTime())
    ? iso
    : `${d.toISOString().slice(0, 10)} ${d.toISOString().slice(11, 16)} UTC`;
}

function draftItem(draft: DraftView, ctx: { prefix: string; csrfToken: string }): string {
  const actions =
    draft.state === 'not-reviewed'
      ? `<form method="post" action="${escapeHtml(ctx.prefix)}/draft" class="draft-form">
      <input type="hidden" name="csrf" value="${escapeHtml(ctx.csrfToken)}">
      <input type="hidden" name="report" value="${escapeHtml(draft.id)}">
      <input type="hidden" name="version" value="${escapeHtml(draft.versionId ?? '')}">
      <button type="submit" name="decision" value="accept">Accept as final</button>
      <button type="submit" name="decision" value="reject" class="secondary">Reject</button>
    </form>`
      : '';
  return `<li class="draft draft-${escapeHtml(draft.state)}" id="draft-${escapeHtml(draft.id)}">
    <p class="draft-state"><strong>${escapeHtml(reviewStatement(draft.state))}</strong> <span class="muted">${escapeHtml(when(draft.issued))}</span></p>
    <blockquote class="draft-text">${escapeHtml(draft.text)}</blockquote>${actions}
  </li>`;
}

/**
 * The "AI-drafted description" panel: each draft with what it says and whether a clinician has
 * reviewed it; a preliminary one carries "Accept as final" and "Reject", which post to
 * `{prefix}/draft` with the session's form token and the version shown.
 */
export function renderDrafts(
  drafts: readonly DraftView[] | undefined,
  ctx: { prefix: string; csrfToken: string },
): string {
  if (!drafts?.length) return '';
  return `<section class="card drafts" aria-labelledby="draft-h">
  <h2 id="draft-h">AI-drafted description <span class="h-sub">preliminary until a clinician accepts it</span></h2>
  <ul class="drafts">${drafts
    .slice(0, 5)
    .map((d) => draftItem(d, ctx))
    .join('')}</ul>
</section>`;
}
