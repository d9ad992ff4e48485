import type { Identifier } from '@medplum/fhirtypes';
import { CODE_SYSTEMS, FUSION_CANONICAL_BASE } from '../contracts/fusion-terminology.js';

/**
 * Identifier systems for what fhir-fusion writes. The model and card identities are global (name,
 * version and content hash mean the same thing everywhere); the assessment identity is issued by
 * the deployment, whose system the caller passes in (`identifierSystem`).
 */
export const IDENTIFIER_SYSTEMS = {
  modelIdentity: `${FUSION_CANONICAL_BASE}/NamingSystem/model-identity`,
  modelCard: `${FUSION_CANONICAL_BASE}/NamingSystem/model-card`,
  software: `${FUSION_CANONICAL_BASE}/NamingSystem/software`,
} as const;

/**
 * An `If-None-Exist` / search query for one token (FHIR R4 §3.1.0.8.1 token search `system|code`),
 * with each part percent-encoded so characters such as `:` `/` `|` inside values stay literal.
 */
export function tokenQuery(parameter: string, system: string, value: string): string {
  return `${parameter}=${encodeURIComponent(system)}|${encodeURIComponent(value)}`;
}

/**
 * The identifier that makes a write idempotent: the identity (a sha256 of model, version, subject
 * and input versions) under the deployment's `identifierSystem`, typed `assessment-identity`. The
 * RiskAssessment and the AI-drafted DiagnosticReport carry it, and their conditional creates search it.
 */
export function assessmentIdentityIdentifier(identifierSystem: string, identity: string): Identifier {
  return {
    type: {
      coding: [
        { system: CODE_SYSTEMS.identifierType, code: 'assessment-identity', display: 'Assessment identity' },
      ],
    },
    system: identifierSystem,
    value: identity,
  };
}
