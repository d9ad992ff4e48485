import { createHmac } from 'node:crypto';
import type { Resource, Subscription } from '@medplum/fhirtypes';
import type { DeliveryRequest } from './http-delivery.js';
import { withoutTrailingSlash } from '../../../contracts/base-url.js';

/** Extension carrying the HMAC secret, as Medplum defines it. */
export const SUBSCRIPTION_SECRET_URL = 'https://medplum.com/fhir/StructureDefinition/subscription-secret';

/** The sandbox's own extension choosing how a full-resource payload is delivered. */
export const DELIVERY_STYLE_URL = 'https://fhir-fusion.dev/fhir/StructureDefinition/sandbox-delivery-style';

/** `medplum`: POST the resource to the endpoint, signed. `hapi`: PUT `{endpoint}/{type}/{id}`. */
export type DeliveryStyle = 'medplum' | 'hapi';

/** The delivery style of a subscription (default `medplum`). */
export function deliveryStyleOf(subscription: Subscription): DeliveryStyle {
  const code = subscription.extension?.find((e) => e.url === DELIVERY_STYLE_URL)?.valueCode;
  return code === 'hapi' ? 'hapi' : 'medplum';
}

/**
 * `channel.header` entries (`Name: value`, FHIR R4 Subscription.channel.header) as an HTTP
 * header record; malformed entries (no colon, empty name) are skipped.
 */
export function channelHeaders(subscription: Subscription): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of subscription.channel.header ?? []) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim();
    if (name) headers[name] = line.slice(colon + 1).trim();
  }
  return headers;
}

/** Hex HMAC-SHA256 of the exact body bytes (Medplum's `X-Signature`). */
export function signBody(secret: string, body: string): string {
  return createHmac('sha256', secret).update(body, 'utf8').digest('hex');
}

/**
 * The HTTP request a classic R4 rest-hook subscription makes for one matching resource
 * (FHIR R4 §Subscription "rest-hook"): no `channel.payload` → a bodyless POST to the endpoint (a
 * ping telling the client to query); a payload → the resource, POSTed and signed (Medplum style)
 * or PUT to `{endpoint}/{type}/{id}` (HAPI style).
 */
export function buildRestHookRequest(subscription: Subscription, resource: Resource): DeliveryRequest {
  const endpoint = subscription.channel.endpoint ?? '';
  const headers = channelHeaders(subscription);
  const payload = subscription.channel.payload;
  if (!payload) return { method: 'POST', url: endpoint, headers };
  const body = JSON.stringify(resource);
  headers['Content-Type'] = payload;
  if (deliveryStyleOf(subscription) === 'hapi') {
    const base = withoutTrailingSlash(endpoint);
    return { method: 'PUT', url: `${base}/${resource.resourceType}/${resource.id}`, headers, body };
  }
  const secret = subscription.extension?.find((e) => e.url === SUBSCRIPTION_SECRET_URL)?.valueString;
  if (secret) headers['X-Signature'] = signBody(secret, body);
  return { method: 'POST', url: endpoint, headers, body };
}
