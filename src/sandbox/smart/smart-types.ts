import type { JWK } from 'jose';

/** How a registered client authenticates at the token endpoint (SMART App Launch 2 §Client Authentication). */
export type ClientType = 'public' | 'confidential';

/** A client registered with the sandbox authorization server. */
export interface RegisteredClient {
  clientId: string;
  /** `public` (no secret; PKCE only) or `confidential` (asymmetric `private_key_jwt`, SMART §Client Authentication: Asymmetric). */
  type: ClientType;
  /** Exact redirect URIs (RFC 6749 §3.1.2.3: compared as strings). Empty for backend services. */
  redirectUris: string[];
  /** Public keys used to verify `client_assertion` JWTs (backend services and confidential apps). */
  jwks?: { keys: JWK[] };
  /**
   * Scopes the client may be granted, e.g. `launch`, `openid`, `patient/*.rs`, `system/Observation.rs`.
   * Resource scopes here act as ceilings: `patient/*.cruds` allows `patient/Observation.rs`.
   */
  scopes: string[];
}

/** A sandbox user, for `fhirUser` / id_token claims. */
export interface SandboxUser {
  /** Login id. */
  id: string;
  /** Relative FHIR reference, e.g. `Practitioner/123` (SMART §Scopes for requesting identity data). */
  fhirUser: string;
}

/** Patient (and encounter) context of an EHR launch or a standalone patient pick. */
export interface LaunchContext {
  patient: string;
  encounter?: string;
}

/** Options for {@link createSmartAuthServer}. */
export interface SmartAuthOptions {
  /** The FHIR base URL this server protects, e.g. `http://localhost:8080/fhir`: token `aud` and the launch `aud`. */
  issuer: string;
  /** Path prefix of the FHIR server (where `/.well-known/smart-configuration` lives), e.g. `/fhir`. */
  fhirPrefix: string;
  /** Path prefix of the authorization endpoints, default `/auth`. */
  authPrefix?: string;
  clients: RegisteredClient[];
  users?: SandboxUser[];
  /** Patients offered by the standalone-launch picker. */
  patients?: Array<{ id: string; display: string }>;
  /** Skip the consent page and approve at once (tests, demos). */
  autoApprove?: boolean;
  /** Access token lifetime in seconds (default 3600). */
  accessTokenLifetimeSeconds?: number;
  /** Clock, injectable for tests; seconds since the epoch. */
  now?: () => number;
}

/** Claims of an access token issued by the sandbox (a JWT signed with the server's ES256 key). */
export interface AccessTokenClaims {
  iss: string;
  /** The FHIR base URL. */
  aud: string;
  sub: string;
  client_id: string;
  /** Space-separated granted scopes. */
  scope: string;
  patient?: string;
  encounter?: string;
  fhirUser?: string;
  exp: number;
  iat: number;
  jti: string;
}
