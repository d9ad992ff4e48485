import type { Logger } from 'pino';
import type { RetryPolicy } from './retry-policy.js';
import { backoffDelayMs } from './retry-policy.js';

/** One HTTP request that delivers a notification. */
export interface DeliveryRequest {
  method: 'POST' | 'PUT';
  url: string;
  headers: Record<string, string>;
  /** Exact bytes sent; `undefined` for a bodyless ping. */
  body?: string;
}

/** Per-delivery overrides of the retry policy. */
export interface SendOptions {
  /** Per-attempt timeout (e.g. a backport Subscription's `backport-timeout`). */
  timeoutMs?: number;
  /** Deliveries with the same key are made one after another (see OrderedDelivery). */
  orderKey?: string;
}

/** Anything that can send a notification in the background (the HTTP sender, or a faulty one). */
export interface NotificationSender {
  send(request: () => DeliveryRequest, label: string, done: (result: DeliveryResult) => void, options?: SendOptions): void;
}

/** Outcome of all attempts of one delivery. */
export type DeliveryResult = { ok: true; attempts: number } | { ok: false; attempts: number; error: string };

/**
 * Sends notifications asynchronously with bounded retries and exponential backoff (a non-2xx
 * status or a connection error counts as a failure). Tracks in-flight deliveries so tests can
 * wait for quiet and `close()` can cancel pending retries.
 */
export class HttpDelivery implements NotificationSender {
  private readonly inFlight = new Set<Promise<DeliveryResult>>();
  private readonly timers = new Map<NodeJS.Timeout, () => void>();
  private closed = false;

  /**
   * @param policy - retry policy.
   * @param log - logger (ids, attempts and status codes only; never bodies).
   */
  constructor(
    private readonly policy: RetryPolicy,
    private readonly log: Logger | undefined,
  ) {}

  /** Starts a delivery in the background; `done` is told the final result. */
  send(request: () => DeliveryRequest, label: string, done: (result: DeliveryResult) => void, options?: SendOptions): void {
    if (this.closed) {
      done({ ok: false, attempts: 0, error: 'sandbox closed' });
      return;
    }
    const promise = this.attemptAll(request, label, options?.timeoutMs ?? this.policy.timeoutMs);
    this.inFlight.add(promise);
    void promise.then((result) => {
      this.inFlight.delete(promise);
      if (!this.closed) done(result);
    });
  }

  /** Resolves when no delivery is in flight (including ones started meanwhile). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) {
      await Promise.allSettled([...this.inFlight]);
    }
  }

  /** Whether any delivery is in flight. */
  get busy(): boolean {
    return this.inFlight.size > 0;
  }

  /** Cancels pending retries; in-flight attempts finish but report nothing. */
  close(): void {
    this.closed = true;
    // Wake sleeping retries so their loops see `closed` and end.
    for (const [timer, wake] of this.timers) {
      clearTimeout(timer);
      wake();
    }
    this.timers.clear();
  }

  private async attemptAll(build: () => DeliveryRequest, label: string, timeoutMs: number): Promise<DeliveryResult> {
    let lastError = 'not attempted';
    for (let attempt = 1; attempt <= this.policy.maxAttempts; attempt++) {
      if (this.closed) return { ok: false, attempts: attempt - 1, error: 'sandbox closed' };
      // Rebuilt per attempt: a request may carry per-attempt state (e.g. a fresh timestamp).
      const request = build();
      try {
        const response = await fetch(request.url, {
          method: request.method,
          headers: request.headers,
          body: request.body,
          signal: AbortSignal.timeout(timeoutMs),
        });
        // Drain so the connection can be reused.
        await response.arrayBuffer().catch(() => undefined);
        if (response.ok) {
          this.log?.debug({ delivery: label, attempt, status: response.status }, 'notification delivered');
          return { ok: true, attempts: attempt };
        }
        lastError = `HTTP ${response.status} from endpoint`;
      } catch (err) {
        lastError = `connection error: ${err instanceof Error ? err.message : String(err)}`;
      }
      this.log?.warn({ delivery: label, attempt, error: lastError }, 'notification attempt failed');
      if (attempt < this.policy.maxAttempts) await this.sleep(backoffDelayMs(this.policy, attempt));
    }
    return { ok: false, attempts: this.policy.maxAttempts, error: lastError };
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.set(timer, resolve);
    });
  }
}
