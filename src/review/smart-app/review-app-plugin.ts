import formbody from '@fastify/formbody';
import type { DiagnosticReport, Endpoint, ImagingStudy, Observation, RiskAssessment } from '@medplum/fhirtypes';
import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify';
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Config } from '../../config/config-schema.js';
import type { FetchLike } from '../../contracts/fetch-like.js';
import { createRedirectGuardedFetch } from '../../fhir/outbound-fetch.js';
import { validationIssue } from '../../http/error-handler.js';
import { redirectResponse, textResponse } from '../../http/route-schemas.js';
import type { Queryable } from '../../store/sql.js';
import { isFusionAssessment } from './assessment-view.js';
import { createClinicianFhir, type ClinicianFhir } from './clinician-fhir.js';
import { buildFeedbackProvenance } from './feedback-provenance.js';
import { buildDraftDecision, draftState, isFusionDraft } from './draft-decision.js';
import { loadDrafts } from './draft-section.js';
import type { ProfileValidator } from '../../writeback/validate-profiles.js';
import { renderStudyThumbnail, type ThumbnailSource } from './image-thumbnail.js';
import { findingOverlayOf, type FindingOverlay } from './localisation-overlay.js';
import type { SimilarCasesFinder } from '../../contracts/similar-cases-finder.js';
import { loadReviewData } from './load-review-data.js';
import { renderErrorPage, ReviewError } from './review-error.js';
import { renderReviewPage } from './render-review-page.js';
import { createReviewStore, hashOpaque, opaqueValue, type ReviewSession } from '../../store/review-repository.js';
import { isSecureOrigin, LAUNCH_COOKIE, readCookie, SESSION_COOKIE, setCookie } from './session-cookies.js';
import { discoverSmartEndpoints } from './smart-discovery.js';
import { exchangeCode } from './token-exchange.js';
import { withoutTrailingSlash } from '../../contracts/base-url.js';

/** Settings the review app reads. */
export type ReviewAppConfig = Pick<
  Config,
  'PUBLIC_URL' | 'FHIR_BASE_URL' | 'SMART_APP_CLIENT_ID' | 'SMART_APP_ISSUERS' | 'SMART_APP_SCOPES' | 'REVIEW_FRAME_ANCESTORS'
>;

/** Options of {@link reviewAppPlugin}. */
export interface ReviewAppOptions {
  config: ReviewAppConfig;
  /** Database holding launches and sessions (migration 0003). */
  pool: Queryable;
  /** For discovery, the token endpoint and FHIR reads with the clinician's token (tests inject). */
  fetch?: FetchLike;
  /** How thumbnails reach the PACS; without it the page shows no image. */
  thumbnails?: ThumbnailSource;
  /** Folder with review.css (default `src/review/assets`). */
  assetsDir?: string;
  /** Similar-case retrieval; without it the page has no similar-cases panel. */
  findSimilar?: SimilarCasesFinder;
  /**
   * Validates the report a clinician's decision writes against base R4 and the fhir-fusion profiles
   * before it is sent (issue #20); without it the EHR's own validation is the only check.
   */
  validator?: Pick<ProfileValidator, 'validate'>;
}

/** Route prefix of the app: launch URL `{PUBLIC_URL}/review/launch`, redirect URL `{PUBLIC_URL}/review/callback`. */
export const REVIEW_PREFIX = '/review';
const LAUNCH_TTL_SECONDS = 600;
const ASSETS = new Set(['review.css']);
/** Resolves to `src/review/assets` both from `src/` (tsx) and from `dist/` (built). */
const DEFAULT_ASSETS_DIR = fileURLToPath(new URL('../../../src/review/assets/', import.meta.url));

function sameSecret(a: string, b: string): boolean {
  const x = createHash('sha256').update(a).digest();
  const y = createHash('sha256').update(b).digest();
  return timingSafeEqual(x, y);
}

function s256(verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url');
}

/** RFC 7636 §4.1: 43–128 characters from the unreserved set. */
const VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;

/** Every refusal of the app is an HTML page (see the error handler below), never JSON. */
const htmlErrors = {
  '4xx': textResponse('text/html', 'Error page: what went wrong and what the clinician can do.'),
  '5xx': textResponse('text/html', 'Error page without internal detail.'),
} as const;
const htmlPage = (description: string) => ({ 200: textResponse('text/html', description), ...htmlErrors });
/** A query parameter the handler reads; a repeated one (an array) fails the schema (400 page). */
const text = (description: string) => ({ type: 'string', description }) as const;
const idParams = (name: string, description: string) =>
  ({ type: 'object', required: [name], properties: { [name]: text(description) } }) as const;

/**
 * The routes' schemas. Values are checked by the handlers (after the session is, with the refusal
 * pages that say what to do), so parameters are typed as strings only.
 */
const schemas = {
  // SMART App Launch 2 §"Launch App": `iss` and `launch` (EHR launch) or neither (standalone).
  launch: {
    querystring: { type: 'object', properties: { iss: text('FHIR base URL of the launching EHR.'), launch: text('Opaque launch context.') } },
    response: { 302: redirectResponse('To the EHR authorization endpoint.'), ...htmlErrors },
  },
  // RFC 6749 §4.1.2 (and §4.1.2.1 for errors).
  callback: {
    querystring: {
      type: 'object',
      properties: {
        code: text('Authorization code.'),
        state: text('The state this browser was given at launch.'),
        error: text('RFC 6749 §4.1.2.1 error code.'),
        error_description: text('Human-readable error.'),
      },
    },
    response: { 303: redirectResponse('To the review page, signed in.'), ...htmlErrors },
  },
  page: {
    querystring: {
      type: 'object',
      properties: {
        saved: text('1 after a review was saved.'),
        draft: text('accepted or rejected after a decision on an AI-drafted description.'),
        assessment: text('RiskAssessment id to open on (from a CDS card\'s appContext); must be an AI assessment of the patient in context.'),
      },
    },
    response: htmlPage('The review page of the patient in context.'),
  },
  feedback: {
    body: {
      type: 'object',
      properties: {
        csrf: text('The session\'s form token.'),
        verdict: text('agree or disagree.'),
        comment: text('Free text, at most 2,000 characters.'),
        assessment: text('RiskAssessment id.'),
      },
    },
    response: { 303: redirectResponse('Back to the review page with saved=1.'), ...htmlErrors },
  },
  draft: {
    body: {
      type: 'object',
      properties: {
        csrf: text('The session\'s form token.'),
        report: text('DiagnosticReport id of the AI-drafted description.'),
        version: text('The report\'s versionId as shown; the update is conditional on it (If-Match).'),
        decision: text('accept (status final) or reject (status entered-in-error).'),
      },
    },
    response: {
      303: redirectResponse('Back to the review page with draft=accepted or draft=rejected.'),
      ...htmlErrors,
      409: textResponse('text/html', 'The draft changed since the page was shown (or was already reviewed); OperationOutcome when the request accepts application/fhir+json.'),
    },
  },
  thumbnail: {
    params: idParams('id', 'ImagingStudy id.'),
    querystring: { type: 'object', properties: { finding: text('Id of a FusionImagingFinding Observation to overlay (issue #20).') } },
    response: { 200: textResponse('image/png', 'Thumbnail of the study\'s first image.', 'binary'), ...htmlErrors },
  },
  asset: {
    params: idParams('file', 'File name, e.g. review.css.'),
    response: { 200: textResponse('text/css', 'The page\'s stylesheet.'), ...htmlErrors },
  },
} as const;

/**
 * The review app's CSP. No script, no external resource: the page works with the strictest policy
 * (CSP Level 3). It replaces the server-wide policy, so it must carry `frame-ancestors` itself:
 * EHRs embed SMART apps in frames, allowed for exactly the configured origins
 * (`REVIEW_FRAME_ANCESTORS`, CSP Level 3 §6.4.2), never `*`. X-Frame-Options cannot express an
 * allow-list, and browsers ignore it when frame-ancestors is present (CSP Level 3 §6.4.2 note).
 */
export function reviewContentSecurityPolicy(frameAncestors: readonly string[]): string {
  const origins = [...new Set(frameAncestors.map((url) => new URL(url).origin))];
  return [
    "default-src 'none'",
    "style-src 'self'",
    "img-src 'self'",
    "form-action 'self'",
    "base-uri 'none'",
    `frame-ancestors ${["'self'", ...origins].join(' ')}`,
  ].join('; ');
}

/** OperationOutcome issue type (R4 issue-type) for a refusal's HTTP status. */
function issueCode(status: number): string {
  if (status === 409) return 'conflict';
  if (status === 401 || status === 403) return status === 401 ? 'login' : 'forbidden';
  if (status === 404) return 'not-found';
  return status >= 500 ? 'exception' : 'invalid';
}

/** A refusal as an OperationOutcome: the page's title and message, never internal detail. */
function refusalOutcome(refusal: ReviewError): object {
  return {
    resourceType: 'OperationOutcome',
    issue: [{ severity: 'error', code: issueCode(refusal.status), details: { text: `${refusal.title}: ${refusal.message}` }, diagnostics: refusal.action }],
  };
}

const stringQuery = (request: FastifyRequest): Record<string, string | undefined> => {
  const query = (request.query ?? {}) as Record<string, unknown>;
  return Object.fromEntries(Object.entries(query).map(([k, v]) => [k, typeof v === 'string' ? v : undefined]));
};

/**
 * The clinician review app (SMART App Launch 2): EHR launch (`iss` + `launch`) and standalone
 * launch at `/review/launch`, authorization code + PKCE S256 + `state` bound to the browser,
 * tokens kept server-side (Postgres, migration 0003) behind an opaque HttpOnly cookie, the review
 * page at `/review`, feedback at `/review/feedback`, image thumbnails and the page's CSS. Every
 * refusal is an HTML error page with the reason, never a stack trace.
 */
export async function reviewAppPlugin(app: FastifyInstance, options: ReviewAppOptions): Promise<void> {
  const { config } = options;
  // Discovery, the token endpoint and the clinician's FHIR reads follow redirects only within the
  // origin asked for: the clinician's token never travels to a host a redirect names.
  const fetchImpl: FetchLike = createRedirectGuardedFetch({ fetch: options.fetch ?? fetch });
  const store = createReviewStore(options.pool);
  const publicUrl = withoutTrailingSlash(config.PUBLIC_URL);
  const redirectUri = `${publicUrl}${REVIEW_PREFIX}/callback`;
  // Secure origins get embeddable (partitioned) cookies: see setCookie.
  const secure = isSecureOrigin(publicUrl);
  const allowed = (config.SMART_APP_ISSUERS.length ? config.SMART_APP_ISSUERS : [config.FHIR_BASE_URL]).map(withoutTrailingSlash);
  const assetsDir = options.assetsDir ?? DEFAULT_ASSETS_DIR;
  const assetsPrefix = `${REVIEW_PREFIX}/assets`;

  await app.register(formbody);
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const refusal =
      error instanceof ReviewError
        ? error
        : error.validation
          ? new ReviewError(400, 'Request not valid', `The request is not what this page expects: ${validationIssue(error).diagnostics}.`)
          : new ReviewError(500, 'Something went wrong', 'The review page could not be shown because of an internal error.', 'Try again; if it keeps happening, tell your EHR integration team.');
    if (!(error instanceof ReviewError)) {
      request.log.error({ err: { name: (error as Error).name, message: (error as Error).message } }, 'review app request failed');
    }
    // A client that asks for FHIR (e.g. an EHR-side integration posting the draft decision) gets an
    // OperationOutcome with the same status and reason instead of the page (R4 §3.1.0.1.1 / §2.21.0.8).
    if (/application\/fhir\+json/.test(request.headers.accept ?? '')) {
      return reply
        .status(refusal.status)
        .header('cache-control', 'no-store')
        .type('application/fhir+json')
        .send(refusalOutcome(refusal));
    }
    return reply
      .status(refusal.status)
      .header('cache-control', 'no-store')
      .type('text/html; charset=utf-8')
      .send(renderErrorPage(refusal, assetsPrefix));
  });
  const policy = reviewContentSecurityPolicy(config.REVIEW_FRAME_ANCESTORS);
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('content-security-policy', policy);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    return payload;
  });

  const sessionFor = async (request: FastifyRequest): Promise<ReviewSession> => {
    const id = readCookie(request, SESSION_COOKIE);
    const session = id ? await store.findSession(id) : undefined;
    if (!session) {
      throw new ReviewError(401, 'Not signed in', 'There is no review session in this browser.', 'Open the app from the patient chart in your EHR.');
    }
    if (session.expiresAt.getTime() <= Date.now()) {
      throw new ReviewError(401, 'Your session has expired', 'The access token the EHR granted for this review has expired.', 'Open the app again from the patient chart to sign in afresh.');
    }
    return session;
  };
  const fhirFor = (session: ReviewSession): ClinicianFhir =>
    createClinicianFhir({ iss: session.iss, accessToken: session.accessToken, fetch: fetchImpl });

  // SMART App Launch 2 §"EHR launch" / §"Standalone launch": the launch URL registered with the EHR.
  app.get(`${REVIEW_PREFIX}/launch`, { schema: schemas.launch }, async (request, reply) => {
    const query = stringQuery(request);
    const iss = query.iss ? withoutTrailingSlash(query.iss) : allowed[0];
    if (!iss || !allowed.includes(iss)) {
      throw new ReviewError(
        400,
        'Launch refused: unknown EHR',
        `This app is not configured to be launched from ${query.iss ?? '(no iss)'}. Allowed: ${allowed.join(', ')}.`,
        'Ask your EHR integration team to add this EHR to SMART_APP_ISSUERS.',
      );
    }
    const endpoints = await discoverSmartEndpoints(iss, fetchImpl);
    const state = opaqueValue();
    const verifier = opaqueValue();
    const browser = opaqueValue();
    await store.saveLaunch(
      state,
      { iss, tokenEndpoint: endpoints.tokenEndpoint, codeVerifier: verifier, browserHash: hashOpaque(browser) },
      LAUNCH_TTL_SECONDS,
    );
    await store.purgeExpired();
    const scopes = config.SMART_APP_SCOPES.split(' ');
    const requested = query.launch ? scopes : scopes.map((s) => (s === 'launch' ? 'launch/patient' : s));
    const authorize = new URL(endpoints.authorizationEndpoint);
    const params: Record<string, string> = {
      response_type: 'code',
      client_id: config.SMART_APP_CLIENT_ID,
      redirect_uri: redirectUri,
      scope: requested.join(' '),
      state,
      aud: iss,
      code_challenge: s256(verifier),
      code_challenge_method: 'S256',
      ...(query.launch ? { launch: query.launch } : {}),
    };
    for (const [k, v] of Object.entries(params)) authorize.searchParams.set(k, v);
    setCookie(reply, { name: LAUNCH_COOKIE, value: browser, path: REVIEW_PREFIX, maxAgeSeconds: LAUNCH_TTL_SECONDS, secure });
    return reply.header('cache-control', 'no-store').redirect(authorize.toString(), 302);
  });

  // RFC 6749 §4.1.2: the EHR redirects back with `code` and the `state` it was given.
  app.get(`${REVIEW_PREFIX}/callback`, { schema: schemas.callback }, async (request, reply) => {
    const query = stringQuery(request);
    const launch = query.state ? await store.takeLaunch(query.state) : undefined;
    const browser = readCookie(request, LAUNCH_COOKIE);
    if (!launch || !browser || !sameSecret(hashOpaque(browser), launch.browserHash)) {
      // RFC 6749 §10.12: a state this browser did not start is a possible CSRF / injection attempt.
      throw new ReviewError(
        400,
        'Sign-in could not be verified',
        'The sign-in response does not match a launch started in this browser (unknown, reused or forged state).',
      );
    }
    if (query.error) {
      throw new ReviewError(
        query.error === 'access_denied' ? 403 : 400,
        'The EHR did not grant access',
        `${query.error}${query.error_description ? `: ${query.error_description}` : ''}`,
      );
    }
    if (!VERIFIER.test(launch.codeVerifier)) {
      throw new ReviewError(400, 'Sign-in could not be completed', 'The PKCE code verifier for this launch is missing, so the authorization code cannot be redeemed.');
    }
    if (!query.code) throw new ReviewError(400, 'Sign-in could not be completed', 'The EHR sent no authorization code.');
    const tokens = await exchangeCode({
      tokenEndpoint: launch.tokenEndpoint,
      code: query.code,
      codeVerifier: launch.codeVerifier,
      redirectUri,
      clientId: config.SMART_APP_CLIENT_ID,
      fetch: fetchImpl,
    });
    const sessionId = opaqueValue();
    await store.saveSession(sessionId, {
      iss: launch.iss,
      accessToken: tokens.accessToken,
      scope: tokens.scope,
      patientId: tokens.patient,
      fhirUser: tokens.fhirUser,
      csrfToken: opaqueValue(),
      expiresAt: new Date(Date.now() + tokens.expiresIn * 1000),
    });
    setCookie(reply, { name: SESSION_COOKIE, value: sessionId, path: REVIEW_PREFIX, maxAgeSeconds: tokens.expiresIn, secure });
    setCookie(reply, { name: LAUNCH_COOKIE, value: '', path: REVIEW_PREFIX, maxAgeSeconds: 0, secure });
    // A launch from a CDS card opens on the assessment the card named (its appContext); the page
    // checks it belongs to the launch patient before showing it.
    const opened = tokens.appContextAssessment ? `?${new URLSearchParams({ assessment: tokens.appContextAssessment }).toString()}` : '';
    return reply.header('cache-control', 'no-store').redirect(`${REVIEW_PREFIX}${opened}`, 303);
  });

  app.get(REVIEW_PREFIX, { schema: schemas.page }, async (request, reply) => {
    const session = await sessionFor(request);
    const query = stringQuery(request);
    const focus = query.assessment && /^[A-Za-z0-9\-.]{1,64}$/.test(query.assessment) ? query.assessment : undefined;
    const fhir = fhirFor(session);
    const [data, drafts] = await Promise.all([
      loadReviewData(fhir, session.patientId, {
        ...(options.findSimilar ? { findSimilar: options.findSimilar } : {}),
        ...(focus ? { focus } : {}),
        ...(session.fhirUser ? { fhirUser: session.fhirUser } : {}),
        iss: session.iss,
      }),
      loadDrafts(fhir, session.patientId),
    ]);
    const notice =
      query.saved === '1'
        ? 'Your review was saved to the chart.'
        : query.draft === 'accepted'
          ? 'The AI-drafted description was accepted as final and saved to the chart.'
          : query.draft === 'rejected'
            ? 'The AI-drafted description was rejected (entered in error) in the chart.'
            : undefined;
    const html = renderReviewPage({ ...data, drafts }, {
      prefix: REVIEW_PREFIX,
      iss: session.iss,
      csrfToken: session.csrfToken,
      notice,
      fhirUser: session.fhirUser,
    });
    return reply.header('cache-control', 'no-store').type('text/html; charset=utf-8').send(html);
  });

  app.post(`${REVIEW_PREFIX}/feedback`, { schema: schemas.feedback }, async (request, reply) => {
    const session = await sessionFor(request);
    const body = (request.body ?? {}) as Record<string, unknown>;
    const field = (name: string): string => (typeof body[name] === 'string' ? (body[name] as string) : '');
    if (!field('csrf') || !sameSecret(field('csrf'), session.csrfToken)) {
      throw new ReviewError(403, 'Review not saved', 'The form did not come from this review session.', 'Reload the review page and try again.');
    }
    const verdict = field('verdict');
    if (verdict !== 'agree' && verdict !== 'disagree') {
      throw new ReviewError(400, 'Review not saved', 'Choose Agree or Disagree.', 'Go back and choose one.');
    }
    const comment = field('comment');
    if (comment.length > 2000) throw new ReviewError(400, 'Review not saved', 'The comment is longer than 2,000 characters.', 'Go back and shorten it.');
    const id = field('assessment');
    if (!/^[A-Za-z0-9\-.]{1,64}$/.test(id)) throw new ReviewError(400, 'Review not saved', 'The form names no assessment.', 'Reload the review page and try again.');
    const fhir = fhirFor(session);
    const assessment = await fhir.read<RiskAssessment>(`RiskAssessment/${id}`);
    if (assessment.subject?.reference !== `Patient/${session.patientId}` || !isFusionAssessment(assessment)) {
      throw new ReviewError(403, 'Review not saved', 'That assessment is not an AI assessment of the patient in context.');
    }
    await fhir.create(
      buildFeedbackProvenance({
        assessment: { id, versionId: assessment.meta?.versionId },
        verdict,
        comment,
        fhirUser: session.fhirUser,
        recorded: new Date().toISOString(),
      }),
    );
    return reply.redirect(`${REVIEW_PREFIX}?${new URLSearchParams({ saved: '1', assessment: id }).toString()}`, 303);
  });

  // Issue #20: a clinician accepts (final) or rejects (entered-in-error) an AI-drafted description,
  // with their own token, conditional on the version they saw, with a verifier Provenance.
  app.post(`${REVIEW_PREFIX}/draft`, { schema: schemas.draft }, async (request, reply) => {
    const session = await sessionFor(request);
    const body = (request.body ?? {}) as Record<string, unknown>;
    const field = (name: string): string => (typeof body[name] === 'string' ? (body[name] as string) : '');
    if (!field('csrf') || !sameSecret(field('csrf'), session.csrfToken)) {
      throw new ReviewError(403, 'Decision not saved', 'The form did not come from this review session.', 'Reload the review page and try again.');
    }
    const decision = field('decision');
    if (decision !== 'accept' && decision !== 'reject') {
      throw new ReviewError(400, 'Decision not saved', 'Choose Accept as final or Reject.', 'Go back and choose one.');
    }
    const id = field('report');
    const version = field('version');
    if (!/^[A-Za-z0-9\-.]{1,64}$/.test(id) || !/^[A-Za-z0-9\-.]{1,64}$/.test(version)) {
      throw new ReviewError(400, 'Decision not saved', 'The form names no draft version.', 'Reload the review page and try again.');
    }
    const fhir = fhirFor(session);
    const report = await fhir.read<DiagnosticReport>(`DiagnosticReport/${id}`);
    if (report.subject?.reference !== `Patient/${session.patientId}` || !isFusionDraft(report)) {
      throw new ReviewError(403, 'Decision not saved', 'That report is not an AI-drafted description of the patient in context.');
    }
    // A draft someone already reviewed, or changed since this page showed it, is not overwritten.
    if (report.status !== 'preliminary' || draftState(report) !== 'not-reviewed' || report.meta?.versionId !== version) {
      throw new ReviewError(
        409,
        'Not saved: changed since you opened it',
        `The draft is now ${report.status ?? 'in an unknown state'} (version ${report.meta?.versionId ?? 'unknown'}), not the preliminary version ${version} this page showed.`,
        'Reload the review page to see the current version.',
      );
    }
    const reviewer = session.fhirUser;
    const transaction = buildDraftDecision({ report, decision, fhirUser: reviewer, reviewer, recorded: new Date().toISOString() });
    const updated = transaction.entry?.[0]?.resource;
    const invalid = updated && options.validator?.validate(updated);
    if (invalid) {
      // Issue codes and paths only: the report's text is not echoed into logs.
      request.log.error({ issues: invalid.issue.map((i) => `${i.code} ${(i.expression ?? []).join(',')}`) }, 'draft decision failed validation');
      throw new ReviewError(500, 'Decision not saved', 'The updated report does not conform to the FHIR profiles, so nothing was written.', 'Tell your EHR integration team.');
    }
    await fhir.transaction(transaction, decision === 'accept' ? 'accept the draft as final' : 'reject the draft');
    const outcome = decision === 'accept' ? 'accepted' : 'rejected';
    return reply.redirect(`${REVIEW_PREFIX}?${new URLSearchParams({ draft: outcome }).toString()}`, 303);
  });

  app.get<{ Params: { id: string }; Querystring: { finding?: string } }>(`${REVIEW_PREFIX}/images/:id/thumbnail.png`, { schema: schemas.thumbnail }, async (request, reply) => {
    const session = await sessionFor(request);
    if (!options.thumbnails) throw new ReviewError(404, 'No image', 'Image retrieval is not configured.', 'Nothing to do.');
    const { id } = request.params;
    if (!/^[A-Za-z0-9\-.]{1,64}$/.test(id)) throw new ReviewError(400, 'No image', 'Not an ImagingStudy id.', 'Nothing to do.');
    const fhir = fhirFor(session);
    // Read with the clinician's token first: they see the image only if they may read the study.
    const study = await fhir.read<ImagingStudy>(`ImagingStudy/${id}`);
    if (study.subject?.reference !== `Patient/${session.patientId}`) {
      throw new ReviewError(403, 'Not permitted', 'That study belongs to another patient.');
    }
    const endpointRefs = (study.endpoint ?? []).flatMap((r) => (r.reference ? [r.reference] : []));
    const endpoints = (await Promise.all(endpointRefs.map((r) => fhir.read<Endpoint>(r).catch(() => undefined)))).filter(
      (e): e is Endpoint => e !== undefined,
    );
    // Issue #20: the finding is read with the clinician's token too, and must be about this study.
    const findingId = request.query.finding;
    let overlay: FindingOverlay | undefined;
    if (findingId !== undefined) {
      if (!/^[A-Za-z0-9\-.]{1,64}$/.test(findingId)) throw new ReviewError(400, 'No localisation', 'Not an Observation id.', 'Nothing to do.');
      const finding = await fhir.read<Observation>(`Observation/${findingId}`);
      const aboutStudy = (finding.derivedFrom ?? []).some((r) => (r.reference ?? '').split('/_history/')[0] === `ImagingStudy/${id}`);
      overlay = finding.subject?.reference === `Patient/${session.patientId}` && aboutStudy ? findingOverlayOf(finding) : undefined;
      if (!overlay) throw new ReviewError(404, 'No localisation', 'That Observation is not a localised finding on this image.', 'Nothing to do.');
    }
    const png = await renderStudyThumbnail(study, endpoints, options.thumbnails, overlay);
    return reply.header('cache-control', 'private, max-age=300').type('image/png').send(png);
  });

  const assets = new Map<string, string>();
  app.get<{ Params: { file: string } }>(`${assetsPrefix}/:file`, { schema: schemas.asset }, async (request, reply) => {
    const { file } = request.params;
    if (!ASSETS.has(file)) throw new ReviewError(404, 'Not found', 'No such file.', 'Nothing to do.');
    let text = assets.get(file);
    if (text === undefined) {
      text = await readFile(`${assetsDir}/${file}`, 'utf8');
      assets.set(file, text);
    }
    return reply.header('cache-control', 'public, max-age=3600').type('text/css; charset=utf-8').send(text);
  });
}
