import type { DeliveryRequest, DeliveryResult, NotificationSender, SendOptions } from './http-delivery.js';
import type { FaultInjector } from './fault-injection.js';

interface Pending {
  request: () => DeliveryRequest;
  label: string;
  done: (result: DeliveryResult) => void;
  options: SendOptions | undefined;
}

/**
 * How long a held-back notification waits for a successor before it goes out anyway (so one is
 * not held for ever when no further write comes; `SandboxEhr.idle()` releases it at once).
 */
const HOLD_BACK_MS = 2000;

/**
 * A {@link NotificationSender} that applies the {@link FaultInjector}'s decisions before handing
 * deliveries to the real sender: a dropped notification reports success without being sent (the
 * server believes it delivered it, as with a lost response); a duplicated one is sent twice; a
 * held-back one goes out after the next notification (or after 2 s, or on `releaseHeld()`).
 */
export class FaultyDelivery implements NotificationSender {
  private held: Pending | undefined;
  private heldTimer: NodeJS.Timeout | undefined;

  /**
   * @param inner - the real sender.
   * @param faults - the decisions.
   */
  constructor(
    private readonly inner: NotificationSender,
    private readonly faults: FaultInjector,
  ) {}

  /** Sends through the faults. */
  send(request: () => DeliveryRequest, label: string, done: (result: DeliveryResult) => void, options?: SendOptions): void {
    const decision = this.faults.next();
    if (decision.drop) {
      done({ ok: true, attempts: 0 });
      return;
    }
    const pending: Pending = { request, label, done, options };
    if (decision.holdBack && !this.held) {
      this.held = pending;
      this.heldTimer = setTimeout(() => this.releaseHeld(), HOLD_BACK_MS);
      return;
    }
    this.dispatch(pending, decision.duplicate);
    this.releaseHeld();
  }

  /** Whether a notification is being held back. */
  get holding(): boolean {
    return this.held !== undefined;
  }

  /** Sends any held-back notification now (used on close and by the timer). */
  releaseHeld(): void {
    if (this.heldTimer) clearTimeout(this.heldTimer);
    this.heldTimer = undefined;
    const held = this.held;
    this.held = undefined;
    if (held) this.dispatch(held, false);
  }

  private dispatch(pending: Pending, duplicate: boolean): void {
    this.inner.send(pending.request, pending.label, pending.done, pending.options);
    if (duplicate) this.inner.send(pending.request, `${pending.label} (duplicate)`, () => undefined, pending.options);
  }
}
