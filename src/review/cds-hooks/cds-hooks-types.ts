/**
 * CDS Hooks 2.0 wire shapes (https://cds-hooks.hl7.org/2.0/): discovery, hook request, response,
 * cards (feedback items are in `contracts/cds-feedback.ts`: the store persists them). Only what
 * this service reads or writes is typed.
 */
import type { Coding, Resource } from '@medplum/fhirtypes';

/** CDS Hooks 2.0 §Discovery: one entry of `services`. */
export interface CdsServiceDefinition {
  hook: string;
  title: string;
  description: string;
  id: string;
  /** Prefetch templates: key → FHIR query with `{{context.*}}` tokens (§Prefetch template). */
  prefetch?: Record<string, string>;
  usageRequirements?: string;
}

/** CDS Hooks 2.0 §HTTP Request: `fhirAuthorization` (an OAuth 2.0 bearer token for `fhirServer`). */
export interface FhirAuthorization {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
  subject: string;
  patient?: string;
}

/** A parsed hook call: what this service needs from the request body. */
export interface HookRequest {
  hook: string;
  hookInstance: string;
  fhirServer?: string;
  fhirAuthorization?: FhirAuthorization;
  context: { userId?: string; patientId: string; encounterId?: string };
  /** Prefetch values; `null` means the client tried and could not (§Prefetch: "null"). */
  prefetch: Record<string, Resource | null>;
}

/** CDS Hooks 2.0 §Link. `smart` links are SMART app launch URLs; the client adds `iss`/`launch`. */
export interface CdsLink {
  label: string;
  url: string;
  type: 'absolute' | 'smart';
  appContext?: string;
}

/** CDS Hooks 2.0 §Source. */
export interface CdsSource {
  label: string;
  url?: string;
  icon?: string;
  topic?: Coding;
}

/** CDS Hooks 2.0 §Card attributes. */
export interface CdsCard {
  uuid: string;
  /** Fewer than 140 characters (§Card attributes: summary). */
  summary: string;
  detail?: string;
  indicator: 'info' | 'warning' | 'critical';
  source: CdsSource;
  links?: CdsLink[];
  /** Reasons offered to the clinician when dismissing the card (§Overridden guidance). */
  overrideReasons?: Coding[];
}

/** CDS Hooks 2.0 §CDS Service Response. */
export interface CdsResponse {
  cards: CdsCard[];
}
