import { escapeHtml } from '../../http/escape-html.js';
import type { PendingAuthorization } from './authorization-state.js';

/**
 * The sandbox consent page: lists the scopes asked for, offers a patient picker when a standalone
 * launch asked for `launch/patient`, and posts the decision back to `decisionUrl`.
 */
export function renderConsentPage(options: {
  decisionUrl: string;
  requestId: string;
  pending: PendingAuthorization;
  patients: Array<{ id: string; display: string }>;
}): string {
  const { pending } = options;
  const scopes = pending.scopes.map((s) => `<li><code>${escapeHtml(s)}</code></li>`).join('');
  const picker = pending.needsPatientPick
    ? options.patients.length
      ? `<label>Patient <select name="patient">${options.patients
          .map((p) => `<option value="${escapeHtml(p.id)}">${escapeHtml(p.display)}</option>`)
          .join('')}</select></label>`
      : '<label>Patient id <input name="patient" required></label>'
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Authorize ${escapeHtml(pending.clientId)}</title></head>
<body>
<h1>Sandbox authorization</h1>
<p><strong>${escapeHtml(pending.clientId)}</strong> asks for:</p>
<ul>${scopes}</ul>
<form method="post" action="${escapeHtml(options.decisionUrl)}">
<input type="hidden" name="request_id" value="${escapeHtml(options.requestId)}">
${picker}
<button name="decision" value="approve">Approve</button>
<button name="decision" value="deny">Deny</button>
</form>
</body></html>`;
}
