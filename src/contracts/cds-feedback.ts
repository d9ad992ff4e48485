import type { Coding } from '@medplum/fhirtypes';

/**
 * CDS Hooks 2.0 §Feedback: one item of `feedback`. A contract (#22) because the CDS Hooks service
 * parses it and the store records it.
 */
export interface FeedbackItem {
  card: string;
  outcome: 'accepted' | 'overridden';
  acceptedSuggestions: Array<{ id: string }>;
  overrideReason?: { reason?: Coding; userComment?: string };
  outcomeTimestamp: string;
}
