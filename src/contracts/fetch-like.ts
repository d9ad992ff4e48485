/**
 * The subset of `fetch` fhir-fusion uses for outbound calls. A contract (#22) because the EHR
 * client, the audit trail, tracing, the review app and the backfill all wrap or take one, and
 * observability sits below fhir/ where the allow-listed implementation lives.
 */
export type FetchLike = (input: string | URL, init?: RequestInit) => Promise<Response>;
