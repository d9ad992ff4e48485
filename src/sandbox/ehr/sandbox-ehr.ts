import Fastify from 'fastify';
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { FhirRouter } from '@medplum/fhir-router';
import type { FhirDefinitions } from './fhir-definitions.js';
import { loadFhirDefinitions } from './fhir-definitions.js';
import { SandboxRepository } from './sandbox-repository.js';
import { registerFhirRoutes } from './fhir-http-routes.js';
import { HttpDelivery } from './subscriptions/http-delivery.js';
import type { RetryPolicy } from './subscriptions/retry-policy.js';
import { DEFAULT_RETRY_POLICY } from './subscriptions/retry-policy.js';
import { RestHookSubscriptions } from './subscriptions/rest-hook-subscriptions.js';
import type { FaultSettings } from './subscriptions/fault-injection.js';
import { FaultInjector } from './subscriptions/fault-injection.js';
import { FaultyDelivery } from './subscriptions/faulty-delivery.js';
import { OrderedDelivery } from './subscriptions/ordered-delivery.js';
import { SubscriptionEventStore } from './subscriptions/backport/event-store.js';
import { BackportSubscriptions } from './subscriptions/backport/backport-subscriptions.js';
import { registerSubscriptionOperations } from './subscriptions/backport/subscription-operations.js';
import type { SandboxTopic } from './subscriptions/backport/sandbox-topics.js';
import { SANDBOX_TOPICS, topicAsBasic } from './subscriptions/backport/sandbox-topics.js';
import type { SandboxRelease } from './subscriptions/backport/notification-bundle.js';
import { registerNativeSubscriptionRoutes } from './subscriptions/native/native-subscription-routes.js';

/** Options of {@link createSandboxEhr}. */
export interface SandboxEhrOptions {
  /** A pino logger, or `false`/absent for none. */
  logger?: Logger | false;
  /** Runs before every FHIR request; throw an error with `statusCode` 401/403 to refuse it. */
  authorize?: (request: FastifyRequest) => Promise<void>;
  /** Already-loaded definitions (see {@link loadFhirDefinitions}); loaded when absent. */
  definitions?: FhirDefinitions;
  /** Notification retry policy (defaults: {@link DEFAULT_RETRY_POLICY}). */
  retry?: Partial<RetryPolicy>;
  /** Path prefix of the FHIR API (default `/fhir`). */
  fhirPrefix?: string;
  /**
   * Public FHIR base URL used in notifications (`subscription` and `focus` references). Default:
   * the URL `listen()` returns, or `http://localhost/fhir` before it.
   */
  publicBaseUrl?: string;
  /**
   * Which FHIR release the sandbox presents for subscriptions (default R4): R4 (classic criteria
   * and the Backport IG), R4B (Backport IG Subscriptions, SubscriptionTopic resources, notifications
   * with a SubscriptionStatus) or R5 (native R5 Subscriptions and `subscription-notification`
   * Bundles). Everything else stays R4: the store and its validation are R4's.
   */
  release?: SandboxRelease;
}

/** A running (or ready to listen) sandbox EHR. */
export interface SandboxEhr {
  /** The fastify app; use `app.inject` in tests, or register more plugins before `listen`. */
  app: FastifyInstance;
  /**
   * The in-memory store behind the FHIR API: a `MemoryRepository` whose writes are validated and
   * notified to subscriptions like HTTP writes.
   */
  repo: SandboxRepository;
  /** The SubscriptionTopics offered (also stored as `Basic` resources). */
  topics: readonly SandboxTopic[];
  /** Fault injection on notification deliveries (not handshakes); `set(undefined)` clears. */
  faults: { set(settings: FaultSettings | undefined): void };
  /** Starts listening; returns the FHIR base URL, e.g. `http://127.0.0.1:PORT/fhir`. */
  listen(port?: number, host?: string): Promise<string>;
  /**
   * Resolves when no notification delivery (retries included) is pending; first releases a
   * notification held back by the `reorder` fault.
   */
  idle(): Promise<void>;
  /** Stops deliveries, heartbeats and the HTTP server. */
  close(): Promise<void>;
}

/**
 * Creates the sandbox EHR: FHIR R4 REST (presenting R4B or R5 subscriptions with `release`) over `@medplum/fhir-router`'s in-memory repository, with
 * validation of every write, classic R4 rest-hook subscriptions and Subscriptions R5 Backport IG
 * topic-based subscriptions. A demo and test fixture only.
 */
export async function createSandboxEhr(options: SandboxEhrOptions = {}): Promise<SandboxEhr> {
  const definitions = options.definitions ?? loadFhirDefinitions();
  const log = options.logger || undefined;
  const prefix = options.fhirPrefix ?? '/fhir';
  let baseUrl = options.publicBaseUrl ?? `http://localhost${prefix}`;
  // Synthea patient Bundles reach several MB; fastify's default limit is 1 MiB.
  const bodyLimit = 64 * 1024 * 1024;
  const app: FastifyInstance = log
    ? Fastify({ loggerInstance: log as FastifyBaseLogger, bodyLimit })
    : Fastify({ logger: false, bodyLimit });
  const repo = new SandboxRepository({ definitions });
  const router = new FhirRouter();
  const http = new HttpDelivery({ ...DEFAULT_RETRY_POLICY, ...options.retry }, log);
  const faults = new FaultInjector();
  // Faults act before ordering, so a deliberate reorder survives per-subscription ordering.
  const ordered = new OrderedDelivery(http);
  const faulty = new FaultyDelivery(ordered, faults);
  const events = new SubscriptionEventStore();
  const topics = SANDBOX_TOPICS;
  const release = options.release ?? 'R4';
  const restHooks = new RestHookSubscriptions(repo, faulty, log);
  const backport = new BackportSubscriptions({
    repo,
    handshakeSender: ordered,
    notificationSender: faulty,
    events,
    topics,
    baseUrl: () => baseUrl,
    release,
    ...(log ? { log } : {}),
  });
  registerSubscriptionOperations({ router, repo, events, topics, subscriptions: backport, baseUrl: () => baseUrl, release });
  for (const topic of topics) {
    await repo.updateResource(topicAsBasic(topic, topic.url.slice(topic.url.lastIndexOf('/') + 1)));
  }

  await app.register(
    async (scope) => {
      if (release !== 'R4') registerNativeSubscriptionRoutes(scope, { release, topics, prefix });
      await registerFhirRoutes(scope, { router, repo, definitions, prefix, release, authorize: options.authorize });
    },
    { prefix },
  );
  const stop = (): void => {
    backport.close();
    restHooks.close();
    faulty.releaseHeld();
    http.close();
    ordered.clear();
  };
  app.addHook('onClose', async () => stop());

  return {
    app,
    repo,
    topics,
    faults: { set: (settings) => faults.set(settings) },
    async listen(port = 0, host = '127.0.0.1'): Promise<string> {
      await app.listen({ port, host });
      const address = app.server.address();
      const actualPort = typeof address === 'object' && address ? address.port : port;
      const hostPart = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
      const url = `http://${hostPart}:${actualPort}${prefix}`;
      if (!options.publicBaseUrl) baseUrl = url;
      return url;
    },
    async idle(): Promise<void> {
      do {
        faulty.releaseHeld();
        await http.idle();
        // A settled delivery may have scheduled more (queued ones, status updates, batches).
        await new Promise((resolve) => setImmediate(resolve));
      } while (faulty.holding || http.busy || ordered.busy);
    },
    async close(): Promise<void> {
      stop();
      await app.close();
    },
  };
}
