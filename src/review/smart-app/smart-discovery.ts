import type { FetchLike } from '../../contracts/fetch-like.js';
import { ReviewError } from './review-error.js';
import { withoutTrailingSlash } from '../../contracts/base-url.js';

/** The parts of `.well-known/smart-configuration` the review app uses (SMART App Launch 2 §Conformance). */
export interface SmartEndpoints {
  authorizationEndpoint: string;
  tokenEndpoint: string;
}

/**
 * Discovers the authorization and token endpoints at `{iss}/.well-known/smart-configuration`
 * (SMART App Launch 2 §2.1 "Retrieve .well-known/smart-configuration"). Refuses a server that does
 * not advertise PKCE S256 (§"Considerations for PKCE Support": S256 is required).
 */
export async function discoverSmartEndpoints(iss: string, fetchImpl: FetchLike): Promise<SmartEndpoints> {
  const url = `${withoutTrailingSlash(iss)}/.well-known/smart-configuration`;
  let body: Record<string, unknown>;
  try {
    const response = await fetchImpl(url, { headers: { accept: 'application/json' } });
    if (!response.ok) throw new Error(`answered HTTP ${response.status}`);
    body = (await response.json()) as Record<string, unknown>;
  } catch (error) {
    throw new ReviewError(
      502,
      'The EHR could not be reached',
      `SMART discovery at ${url} failed (${(error as Error).message}).`,
      'Try again in a minute; if it keeps failing, tell your EHR integration team.',
    );
  }
  const { authorization_endpoint: authorize, token_endpoint: token } = body;
  if (typeof authorize !== 'string' || typeof token !== 'string') {
    throw new ReviewError(502, 'The EHR is not set up for SMART launch', `${url} names no authorization_endpoint or token_endpoint.`);
  }
  const methods = body.code_challenge_methods_supported;
  if (Array.isArray(methods) && !methods.includes('S256')) {
    throw new ReviewError(502, 'The EHR is not set up for SMART launch', `${url} does not offer PKCE S256, which SMART App Launch 2 requires.`);
  }
  return { authorizationEndpoint: authorize, tokenEndpoint: token };
}
