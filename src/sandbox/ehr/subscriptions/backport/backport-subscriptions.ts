import type { Reference, Resource, Subscription } from '@medplum/fhirtypes';
import type { WithId } from '@medplum/core';
import { evalFhirPath, getSearchParameter, matchesSearchRequest } from '@medplum/core';
import type { Logger } from 'pino';
import type { ResourceWriteEvent, SandboxRepository } from '../../sandbox-repository.js';
import type { DeliveryRequest, NotificationSender, SendOptions } from '../http-delivery.js';
import { channelHeaders } from '../rest-hook-request.js';
import { isBackportSubscription } from '../backport-detection.js';
import type { BackportSettings, PayloadContent } from './backport-settings.js';
import { parseBackportSubscription } from './backport-settings.js';
import type { SandboxTopic } from './sandbox-topics.js';
import type { StoredEvent, SubscriptionEventStore } from './event-store.js';
import type { NotificationType, SandboxRelease } from './notification-bundle.js';
import { buildNotificationBundle } from './notification-bundle.js';

/** Dependencies of {@link BackportSubscriptions}. */
export interface BackportSubscriptionsOptions {
  repo: SandboxRepository;
  /** Sender for handshakes (never fault-injected). */
  handshakeSender: NotificationSender;
  /** Sender for event notifications and heartbeats (fault injection applies). */
  notificationSender: NotificationSender;
  events: SubscriptionEventStore;
  topics: readonly SandboxTopic[];
  /** The public FHIR base URL (known once the server listens). */
  baseUrl: () => string;
  /** Which release's notification encoding to send (default R4). */
  release?: SandboxRelease;
  log?: Logger;
}

interface Registered {
  subscription: WithId<Subscription>;
  settings: BackportSettings;
  heartbeat?: NodeJS.Timeout;
  queue: StoredEvent[];
  flushScheduled: boolean;
}

/**
 * Topic-based subscriptions of the Subscriptions R5 Backport IG on R4: validates backport
 * Subscriptions, sends the handshake (success → `active`, failure → `error`), records each
 * matching create/update as a numbered event, sends `event-notification` Bundles (at most
 * `max-count` events each; events of one transaction are batched), heartbeats after
 * `heartbeat-period` seconds of silence, and moves the Subscription to `error` when delivery
 * fails for good.
 */
export class BackportSubscriptions {
  private readonly registered = new Map<string, Registered>();
  private readonly byTopic = new Map<string, Set<string>>();
  private readonly internalWrites = new WeakSet<Resource>();
  private readonly lastError = new Map<string, string>();
  private closed = false;

  /** @param options - dependencies. */
  constructor(private readonly options: BackportSubscriptionsOptions) {
    options.repo.addBeforeWriteHook((resource, interaction) => this.prepare(resource, interaction));
    options.repo.addWriteListener((event) => this.onWrite(event));
  }

  /** The parsed settings of a registered (active) backport subscription. */
  settingsOf(id: string): BackportSettings | undefined {
    return this.registered.get(id)?.settings;
  }

  /** Why the subscription went to `error`, if it did. */
  errorOf(id: string): string | undefined {
    return this.lastError.get(id);
  }

  /** Stops heartbeats; later writes send nothing. */
  close(): void {
    this.closed = true;
    for (const entry of this.registered.values()) if (entry.heartbeat) clearTimeout(entry.heartbeat);
  }

  private prepare(resource: Resource, interaction: 'create' | 'update'): Resource {
    if (resource.resourceType !== 'Subscription' || !isBackportSubscription(resource)) return resource;
    if (this.internalWrites.has(resource)) return resource;
    const parsed = parseBackportSubscription(resource, this.options.topics);
    if (!parsed.ok) throw parsed.error;
    // Backport IG "Handshake": the server sets `requested` and activates after the handshake.
    // A client update to a non-off status re-runs the handshake, as if newly requested.
    if (interaction === 'create' || resource.status !== 'off') return { ...resource, status: 'requested' };
    return resource;
  }

  private onWrite(event: ResourceWriteEvent): void {
    if (this.closed) return;
    const resource = event.resource;
    if (resource.resourceType === 'Subscription' && isBackportSubscription(resource)) {
      this.onSubscriptionWrite(resource as WithId<Subscription>, event.interaction);
      return;
    }
    if (event.interaction === 'delete') return;
    for (const topic of this.options.topics) {
      if (topic.resourceType !== resource.resourceType || !topic.interactions.includes(event.interaction)) continue;
      for (const id of this.byTopic.get(topic.url) ?? []) {
        const entry = this.registered.get(id);
        if (!entry || entry.subscription.status !== 'active') continue;
        if (!entry.settings.filters.every((filter) => matchesSearchRequest(resource, filter))) continue;
        const stored = this.options.events.append(id, {
          timestamp: new Date().toISOString(),
          interaction: event.interaction,
          focus: resource,
          additionalContext: additionalContext(topic, resource),
        });
        this.enqueue(entry, stored);
      }
    }
  }

  private onSubscriptionWrite(subscription: WithId<Subscription>, interaction: ResourceWriteEvent['interaction']): void {
    this.unregister(subscription.id);
    if (interaction === 'delete') {
      this.options.events.forget(subscription.id);
      return;
    }
    const parsed = parseBackportSubscription(subscription, this.options.topics);
    if (!parsed.ok) return;
    if (subscription.status === 'requested') {
      this.handshake(subscription, parsed.value);
      return;
    }
    if (subscription.status !== 'active') return;
    const entry: Registered = { subscription, settings: parsed.value, queue: [], flushScheduled: false };
    this.registered.set(subscription.id, entry);
    let ids = this.byTopic.get(parsed.value.topic.url);
    if (!ids) {
      ids = new Set();
      this.byTopic.set(parsed.value.topic.url, ids);
    }
    ids.add(subscription.id);
    this.armHeartbeat(entry);
  }

  private unregister(id: string): void {
    const entry = this.registered.get(id);
    if (!entry) return;
    if (entry.heartbeat) clearTimeout(entry.heartbeat);
    this.registered.delete(id);
    this.byTopic.get(entry.settings.topic.url)?.delete(id);
  }

  private handshake(subscription: WithId<Subscription>, settings: BackportSettings): void {
    const bundle = (): DeliveryRequest =>
      this.request(subscription, settings, 'handshake', [], 'empty');
    this.options.handshakeSender.send(
      bundle,
      `Subscription/${subscription.id} handshake`,
      (result) => {
        if (result.ok) void this.setStatus(subscription.id, 'active');
        else void this.setStatus(subscription.id, 'error', `Handshake failed after ${result.attempts} attempts: ${result.error}`);
      },
      this.sendOptions(subscription.id, settings),
    );
  }

  private enqueue(entry: Registered, event: StoredEvent): void {
    entry.queue.push(event);
    if (entry.flushScheduled) return;
    entry.flushScheduled = true;
    // Events committed together (one transaction) are emitted synchronously; batch them.
    queueMicrotask(() => {
      entry.flushScheduled = false;
      const events = entry.queue.splice(0);
      for (let i = 0; i < events.length; i += entry.settings.maxCount) {
        this.sendEvents(entry, events.slice(i, i + entry.settings.maxCount));
      }
    });
  }

  private sendEvents(entry: Registered, events: StoredEvent[]): void {
    this.armHeartbeat(entry);
    const { subscription, settings } = entry;
    this.options.notificationSender.send(
      () => this.request(subscription, settings, 'event-notification', events, settings.content),
      `Subscription/${subscription.id} events ${events[0]?.eventNumber}-${events.at(-1)?.eventNumber}`,
      (result) => {
        if (!result.ok) void this.setStatus(subscription.id, 'error', `Notification failed after ${result.attempts} attempts: ${result.error}`);
      },
      this.sendOptions(subscription.id, settings),
    );
  }

  private sendOptions(id: string, settings: BackportSettings): SendOptions {
    return { orderKey: `Subscription/${id}`, ...(settings.timeout ? { timeoutMs: settings.timeout * 1000 } : {}) };
  }

  private armHeartbeat(entry: Registered): void {
    if (entry.heartbeat) clearTimeout(entry.heartbeat);
    entry.heartbeat = undefined;
    const period = entry.settings.heartbeatPeriod;
    if (!period || this.closed) return;
    // Backport IG heartbeat-period: a heartbeat when nothing was sent for `period` seconds.
    entry.heartbeat = setTimeout(() => {
      entry.heartbeat = undefined;
      if (this.closed || this.registered.get(entry.subscription.id) !== entry) return;
      this.options.notificationSender.send(
        () => this.request(entry.subscription, entry.settings, 'heartbeat', [], 'empty'),
        `Subscription/${entry.subscription.id} heartbeat`,
        () => undefined,
        this.sendOptions(entry.subscription.id, entry.settings),
      );
      this.armHeartbeat(entry);
    }, period * 1000);
    entry.heartbeat.unref();
  }

  private request(
    subscription: WithId<Subscription>,
    settings: BackportSettings,
    type: NotificationType,
    events: readonly StoredEvent[],
    content: PayloadContent,
  ): DeliveryRequest {
    const contextResources = content === 'full-resource' ? this.resolveContext(events) : [];
    const bundle = buildNotificationBundle(
      {
        baseUrl: this.options.baseUrl(),
        release: this.options.release ?? 'R4',
        subscription,
        type,
        eventsSinceSubscriptionStart: this.options.events.count(subscription.id),
        events,
        content,
      },
      contextResources,
    );
    const headers = channelHeaders(subscription);
    headers['Content-Type'] = subscription.channel.payload ?? 'application/fhir+json';
    return { method: 'POST', url: settings.endpoint, headers, body: JSON.stringify(bundle) };
  }

  /** Current versions of the additional-context resources (deduplicated). */
  resolveContext(events: readonly StoredEvent[]): Resource[] {
    const seen = new Set<string>();
    const out: Resource[] = [];
    for (const event of events) {
      for (const reference of event.additionalContext) {
        const key = reference.reference ?? '';
        if (seen.has(key)) continue;
        seen.add(key);
        const [type, id] = key.split('/');
        if (!type || !id) continue;
        const found = this.options.repo.peek(type, id);
        if (found) out.push(found);
      }
    }
    return out;
  }

  private async setStatus(id: string, status: 'active' | 'error', error?: string): Promise<void> {
    if (this.closed) return;
    try {
      const current = await this.options.repo.readResource<Subscription>('Subscription', id);
      if (current.status === status || current.status === 'off') return;
      const next: Subscription = { ...current, status, ...(error ? { error } : {}) };
      if (status === 'active') delete next.error;
      if (error) this.lastError.set(id, error);
      this.internalWrites.add(next);
      await this.options.repo.updateResource(next);
      this.options.log?.info({ subscription: id, status }, 'backport subscription status changed');
    } catch (err) {
      this.options.log?.error({ subscription: id, err }, 'could not change subscription status');
    }
  }
}

/** References named by the topic's notification shape include (e.g. `Observation:subject`). */
function additionalContext(topic: SandboxTopic, resource: Resource): Reference[] {
  const [type, code] = topic.include.split(':');
  if (type !== resource.resourceType || !code) return [];
  const expression = getSearchParameter(type, code)?.expression;
  if (!expression) return [];
  const out: Reference[] = [];
  for (const value of evalFhirPath(expression, resource)) {
    const reference = (value as Reference | undefined)?.reference;
    if (typeof reference === 'string' && /^[A-Za-z]+\/[^/]+$/.test(reference)) out.push({ reference });
  }
  return out;
}
