import type { FetchLike } from '../../contracts/fetch-like.js';
import { ReviewError } from './review-error.js';

/** The fields of a SMART token response the review app keeps (RFC 6749 §5.1 + SMART launch context). */
export interface LaunchTokens {
  accessToken: string;
  scope: string;
  expiresIn: number;
  patient: string;
  fhirUser: string | undefined;
  /**
   * The RiskAssessment id a CDS card's `smart` link named in its `appContext`, when the EHR passed
   * one on (CDS Hooks 2.0 §Link: appContext is "sent to the SMART app as part of the OAuth 2.0
   * access token response"); only a relative `RiskAssessment/<id>` is taken.
   */
  appContextAssessment: string | undefined;
}

/** Reads `fhirUser` from the id_token payload; the signature is not checked because the token came straight from the token endpoint over TLS (OIDC Core §3.1.3.7, item 6). */
function fhirUserFromIdToken(idToken: unknown): string | undefined {
  if (typeof idToken !== 'string') return undefined;
  const payload = idToken.split('.')[1];
  if (!payload) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { fhirUser?: unknown };
    return typeof claims.fhirUser === 'string' ? claims.fhirUser : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Redeems an authorization code with its PKCE verifier (RFC 6749 §4.1.3, RFC 7636 §4.5) as a public
 * client, and parses the response into typed launch tokens. The patient comes from the token
 * response (SMART App Launch 2 §"Launch context arrives with your access_token").
 */
export async function exchangeCode(input: {
  tokenEndpoint: string;
  code: string;
  codeVerifier: string;
  redirectUri: string;
  clientId: string;
  fetch: FetchLike;
}): Promise<LaunchTokens> {
  const response = await input.fetch(input.tokenEndpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: input.code,
      redirect_uri: input.redirectUri,
      client_id: input.clientId,
      code_verifier: input.codeVerifier,
    }).toString(),
  }).catch((error: unknown) => {
    throw new ReviewError(502, 'The EHR could not be reached', `The token request failed (${(error as Error).message}).`);
  });
  const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (!response.ok) {
    const code = typeof body.error === 'string' ? body.error : `HTTP ${response.status}`;
    const description = typeof body.error_description === 'string' ? `: ${body.error_description}` : '';
    throw new ReviewError(400, 'Sign-in was refused', `The EHR refused the authorization code (${code}${description}).`);
  }
  if (typeof body.access_token !== 'string' || String(body.token_type).toLowerCase() !== 'bearer') {
    throw new ReviewError(502, 'Sign-in was refused', 'The EHR answered without a Bearer access token.');
  }
  if (typeof body.patient !== 'string' || body.patient === '') {
    throw new ReviewError(
      400,
      'No patient in context',
      'The EHR granted access without a patient context, so there is no chart to review.',
      'Open the app from a patient chart, or choose a patient when asked.',
    );
  }
  return {
    accessToken: body.access_token,
    scope: typeof body.scope === 'string' ? body.scope : '',
    // RFC 6749 §5.1: expires_in is RECOMMENDED; without it assume a short session.
    expiresIn: typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 300,
    patient: body.patient,
    fhirUser: typeof body.fhirUser === 'string' ? body.fhirUser : fhirUserFromIdToken(body.id_token),
    appContextAssessment: assessmentOfAppContext(body.appContext),
  };
}

const ASSESSMENT_REFERENCE = /^RiskAssessment\/([A-Za-z0-9\-.]{1,64})$/;

/**
 * The RiskAssessment id in an `appContext` as fhir-fusion's cards write it
 * (`{"riskAssessment":"RiskAssessment/<id>"}`, build-risk-card.ts). appContext is an opaque string
 * chosen by whoever wrote the card, so anything else (another shape, an absolute URL) is ignored.
 */
export function assessmentOfAppContext(appContext: unknown): string | undefined {
  if (typeof appContext !== 'string' || appContext.length > 2000) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(appContext);
  } catch {
    return undefined;
  }
  const reference = (parsed as { riskAssessment?: unknown } | null)?.riskAssessment;
  return typeof reference === 'string' ? ASSESSMENT_REFERENCE.exec(reference)?.[1] : undefined;
}
