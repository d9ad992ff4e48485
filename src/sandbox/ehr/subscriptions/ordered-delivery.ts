import type { DeliveryRequest, DeliveryResult, NotificationSender, SendOptions } from './http-delivery.js';

/**
 * Delivers the notifications of one subscription one at a time, in the order they were sent
 * (the next starts after the previous one, retries included, has finished), so an endpoint
 * sees event numbers in increasing order unless faults reorder them on purpose. Deliveries
 * without `orderKey` pass straight through.
 */
export class OrderedDelivery implements NotificationSender {
  private readonly chains = new Map<string, Promise<void>>();

  /** @param inner - the sender that does the HTTP work. */
  constructor(private readonly inner: NotificationSender) {}

  /** Whether some subscription still has notifications queued or in flight. */
  get busy(): boolean {
    return this.chains.size > 0;
  }

  /** Queues the delivery behind earlier ones with the same `options.orderKey`. */
  send(request: () => DeliveryRequest, label: string, done: (result: DeliveryResult) => void, options?: SendOptions): void {
    const key = options?.orderKey;
    if (!key) {
      this.inner.send(request, label, done, options);
      return;
    }
    const previous = this.chains.get(key) ?? Promise.resolve();
    const next = previous.then(
      () =>
        new Promise<void>((resolve) => {
          this.inner.send(
            request,
            label,
            (result) => {
              resolve();
              done(result);
            },
            options,
          );
        }),
    );
    this.chains.set(key, next);
    void next.then(() => {
      if (this.chains.get(key) === next) this.chains.delete(key);
    });
  }

  /** Drops queued deliveries (on close). */
  clear(): void {
    this.chains.clear();
  }
}
