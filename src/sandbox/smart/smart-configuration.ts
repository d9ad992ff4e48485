/**
 * The SMART configuration document (SMART App Launch 2.x §"Conformance": Metadata), served at
 * `{fhirBase}/.well-known/smart-configuration`.
 */
export interface SmartConfiguration {
  issuer: string;
  jwks_uri: string;
  authorization_endpoint: string;
  token_endpoint: string;
  /** RFC 7662 token introspection (SMART App Launch 2 §Token Introspection). */
  introspection_endpoint: string;
  token_endpoint_auth_methods_supported: string[];
  token_endpoint_auth_signing_alg_values_supported: string[];
  grant_types_supported: string[];
  scopes_supported: string[];
  response_types_supported: string[];
  capabilities: string[];
  code_challenge_methods_supported: string[];
}

/** Builds the document for an authorization server whose endpoints are given. */
export function buildSmartConfiguration(endpoints: {
  issuer: string;
  jwksUri: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  introspectionEndpoint: string;
}): SmartConfiguration {
  return {
    issuer: endpoints.issuer,
    jwks_uri: endpoints.jwksUri,
    authorization_endpoint: endpoints.authorizationEndpoint,
    token_endpoint: endpoints.tokenEndpoint,
    introspection_endpoint: endpoints.introspectionEndpoint,
    // `none` for public clients with PKCE, `private_key_jwt` for asymmetric client authentication.
    token_endpoint_auth_methods_supported: ['none', 'private_key_jwt'],
    token_endpoint_auth_signing_alg_values_supported: ['RS384', 'ES384'],
    grant_types_supported: ['authorization_code', 'client_credentials', 'refresh_token'],
    scopes_supported: [
      'openid',
      'fhirUser',
      'launch',
      'launch/patient',
      'offline_access',
      'online_access',
      'patient/*.cruds',
      'user/*.cruds',
      'system/*.cruds',
      'patient/*.rs',
      'user/*.rs',
      'system/*.rs',
    ],
    response_types_supported: ['code'],
    capabilities: [
      'launch-ehr',
      'launch-standalone',
      'client-public',
      'client-confidential-asymmetric',
      'context-ehr-patient',
      'context-ehr-encounter',
      'context-standalone-patient',
      'context-banner',
      'sso-openid-connect',
      'permission-offline',
      'permission-online',
      'permission-patient',
      'permission-user',
      'permission-v1',
      'permission-v2',
      'authorize-post',
    ],
    code_challenge_methods_supported: ['S256'],
  };
}
