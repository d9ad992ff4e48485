import type { Resource, Subscription } from '@medplum/fhirtypes';
import type { WithId } from '@medplum/core';
import { OperationOutcomeError } from '@medplum/core';
import type { Logger } from 'pino';
import type { ResourceWriteEvent, SandboxRepository } from '../sandbox-repository.js';
import type { NotificationSender } from './http-delivery.js';
import { CriteriaSubscriptionIndex, parseCriteria } from './criteria-subscriptions.js';
import { buildRestHookRequest } from './rest-hook-request.js';
import { isBackportSubscription } from './backport-detection.js';

/**
 * Classic FHIR R4 criteria-based subscriptions (R4 §Subscription) over the sandbox repository:
 * accepts `rest-hook` Subscriptions (a `requested` one becomes `active`), matches every committed
 * create/update against the active ones of the same resource type, and delivers asynchronously
 * through a {@link NotificationSender}. When every attempt fails the Subscription goes to `error` with the
 * reason in `Subscription.error`.
 */
export class RestHookSubscriptions {
  private readonly index = new CriteriaSubscriptionIndex();

  /**
   * @param repo - repository whose writes are watched.
   * @param delivery - asynchronous sender with retries.
   * @param log - logger (subscription ids and counts only).
   */
  constructor(
    private readonly repo: SandboxRepository,
    private readonly delivery: NotificationSender,
    private readonly log: Logger | undefined,
  ) {
    repo.addBeforeWriteHook((resource) => this.prepare(resource));
    repo.addWriteListener((event) => this.onWrite(event));
  }

  private closed = false;

  /** Stops reacting to delivery results (on shutdown). */
  close(): void {
    this.closed = true;
  }

  /** Number of active classic subscriptions. */
  get activeCount(): number {
    return this.index.size;
  }

  private prepare(resource: Resource): Resource {
    if (resource.resourceType !== 'Subscription' || isBackportSubscription(resource)) return resource;
    const subscription = resource;
    if (subscription.channel?.type !== 'rest-hook') {
      throw invalid('Subscription.channel.type', 'the sandbox supports only rest-hook channels');
    }
    if (!subscription.channel.endpoint || !/^https?:\/\//.test(subscription.channel.endpoint)) {
      throw invalid('Subscription.channel.endpoint', 'rest-hook endpoint must be an absolute http(s) URL');
    }
    if (typeof subscription.criteria === 'string') parseCriteria(subscription.criteria);
    // R4 §Subscription status: the server moves `requested` to `active` once it accepts it.
    if (subscription.status === 'requested') return { ...subscription, status: 'active' };
    return subscription;
  }

  private onWrite(event: ResourceWriteEvent): void {
    const resource = event.resource;
    if (resource.resourceType === 'Subscription') {
      const subscription = resource as WithId<Subscription>;
      if (event.interaction === 'delete' || isBackportSubscription(subscription)) {
        this.index.remove(subscription.id);
      } else {
        this.index.track(subscription, subscription.status === 'active');
      }
    }
    // Classic R4 rest-hooks fire on create and update; deletes are not notified.
    if (event.interaction === 'delete') return;
    for (const { subscription } of this.index.matching(event)) {
      this.delivery.send(
        () => buildRestHookRequest(subscription, resource),
        `Subscription/${subscription.id}`,
        (result) => {
          if (!result.ok && !this.closed) void this.markError(subscription.id, result.error, result.attempts);
        },
        { orderKey: `Subscription/${subscription.id}` },
      );
    }
  }

  private async markError(id: string, error: string, attempts: number): Promise<void> {
    try {
      const current = await this.repo.readResource<Subscription>('Subscription', id);
      if (current.status !== 'active') return;
      await this.repo.updateResource<Subscription>({
        ...current,
        status: 'error',
        error: `Delivery failed after ${attempts} attempts: ${error}`,
      });
      this.log?.warn({ subscription: id, attempts }, 'subscription set to error');
    } catch (err) {
      this.log?.error({ subscription: id, err }, 'could not record subscription error');
    }
  }
}

function invalid(expression: string, text: string): OperationOutcomeError {
  return new OperationOutcomeError({
    resourceType: 'OperationOutcome',
    issue: [{ severity: 'error', code: 'invalid', details: { text }, expression: [expression] }],
  });
}
