/** How a notification reached us; recorded on the inbox row and in metrics. */
export type NotificationDialect =
  | 'rest-hook-post' // R4 classic rest-hook, resource POSTed (Medplum)
  | 'rest-hook-put' // R4 classic rest-hook, resource PUT to {endpoint}/{type}/{id} (HAPI FHIR)
  | 'rest-hook-ping' // R4 classic rest-hook with no payload
  | 'backport' // Subscriptions R5 Backport IG notification Bundle on R4 (status as Parameters)
  | 'topic-r4b' // R4B topic-based notification (history Bundle, SubscriptionStatus resource)
  | 'topic-r5' // R5 topic-based notification (subscription-notification Bundle)
  | 'recovered' // fetched with `$events` after a gap in event numbers
  | 'hl7v2' // an HL7 v2 ORU^R01 received over MLLP (src/intake/hl7v2)
  | 'dimse' // a DICOM study received by C-STORE (src/intake/dimse)
  | 'search'; // found by a `_lastUpdated` search (ping, empty event, gap without `$events`, polling)

/** One event extracted from a notification, ready to be stored in the inbox. */
export interface IntakeEvent {
  dialect: NotificationDialect;
  /** Unique per real event: a redelivery produces the same key and is a no-op. */
  dedupeKey: string;
  resourceType?: string;
  resourceId?: string;
  versionId?: string;
  patientId?: string;
  eventNumber?: number;
  /** The resource (full-resource deliveries) — stored, never logged. */
  payload?: unknown;
  /** Set when the event cannot change an assessment: stored (for counting) as `ignored`. */
  ignoredReason?: string;
}
