/** Faults applied to notification deliveries, for tests of receivers' recovery logic. */
export interface FaultSettings {
  /** Probability (0..1) that a notification is silently not sent (the server believes it was). */
  drop?: number;
  /** Probability (0..1) that a notification is sent twice. */
  duplicate?: number;
  /** When true, about half the notifications are held back and sent after the next one. */
  reorder?: boolean;
  /** Seed of the deterministic random sequence. */
  seed: number;
}

/** What to do with one notification. */
export interface FaultDecision {
  drop: boolean;
  duplicate: boolean;
  holdBack: boolean;
}

/**
 * Decides, deterministically from a seed (mulberry32), which deliveries to drop, duplicate or
 * reorder. With no settings every delivery goes out once, in order.
 */
export class FaultInjector {
  private settings: FaultSettings | undefined;
  private state = 0;

  /** Sets (or with `undefined` clears) the faults; restarts the random sequence from the seed. */
  set(settings: FaultSettings | undefined): void {
    if (settings) {
      for (const key of ['drop', 'duplicate'] as const) {
        const p = settings[key];
        if (p !== undefined && (!(p >= 0) || p > 1)) throw new RangeError(`faults.${key} must be a probability in [0, 1]`);
      }
    }
    this.settings = settings;
    this.state = (settings?.seed ?? 0) >>> 0;
  }

  /** Whether any fault is configured. */
  get active(): boolean {
    return this.settings !== undefined;
  }

  /** The decision for the next delivery. */
  next(): FaultDecision {
    const settings = this.settings;
    if (!settings) return { drop: false, duplicate: false, holdBack: false };
    // Always draw three numbers so one setting does not shift another's sequence.
    const a = this.random();
    const b = this.random();
    const c = this.random();
    return {
      drop: a < (settings.drop ?? 0),
      duplicate: b < (settings.duplicate ?? 0),
      holdBack: settings.reorder === true && c < 0.5,
    };
  }

  private random(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}
