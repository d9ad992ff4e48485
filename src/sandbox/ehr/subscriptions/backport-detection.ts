import type { Subscription } from '@medplum/fhirtypes';

/** Profile of an R4 Subscription following the Subscriptions R5 Backport IG. */
export const BACKPORT_SUBSCRIPTION_PROFILE =
  'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription';

/**
 * Whether a Subscription is topic-based (Backport IG §Subscriptions in R4: `criteria` holds the
 * SubscriptionTopic canonical URL) rather than a classic R4 criteria search.
 */
export function isBackportSubscription(subscription: Subscription): boolean {
  if (subscription.meta?.profile?.includes(BACKPORT_SUBSCRIPTION_PROFILE)) return true;
  return /^https?:\/\//.test(subscription.criteria ?? '');
}
