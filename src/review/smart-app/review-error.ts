import { escapeHtml } from '../../http/escape-html.js';
import { pageShell } from './html.js';

/** Why a review-app request was refused; rendered as a plain error page, never a stack trace. */
export class ReviewError extends Error {
  readonly status: number;
  readonly title: string;
  /** What the clinician can do about it. */
  readonly action: string;
  constructor(status: number, title: string, message: string, action = 'Close this window and open the app again from the patient chart.') {
    super(message);
    this.name = 'ReviewError';
    this.status = status;
    this.title = title;
    this.action = action;
  }
}

/** The error page for a {@link ReviewError}. */
export function renderErrorPage(error: ReviewError, assetsPrefix: string): string {
  return pageShell({
    title: `${error.title} — fhir-fusion review`,
    assetsPrefix,
    body: `<main class="error-page" role="alert">
  <div class="error-card">
    <p class="brand">fhir-fusion · AI risk review</p>
    <h1>${escapeHtml(error.title)}</h1>
    <p class="error-message">${escapeHtml(error.message)}</p>
    <p class="error-action">${escapeHtml(error.action)}</p>
    <p class="error-code">HTTP ${error.status}</p>
  </div>
</main>`,
  });
}
