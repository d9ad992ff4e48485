/**
 * How the sandbox retries a failed notification: `maxAttempts` tries in all, waiting
 * `initialBackoffMs × 2^(attempt-1)` (capped at `maxBackoffMs`) between them.
 */
export interface RetryPolicy {
  /** Total attempts including the first (≥ 1). */
  maxAttempts: number;
  /** Wait before the second attempt. */
  initialBackoffMs: number;
  /** Upper bound of any wait. */
  maxBackoffMs: number;
  /** Per-attempt HTTP timeout. */
  timeoutMs: number;
}

/** Defaults: 5 attempts, 1 s, 2 s, 4 s, 8 s apart; 10 s per attempt. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 5,
  initialBackoffMs: 1000,
  maxBackoffMs: 30_000,
  timeoutMs: 10_000,
};

/** The wait after failed attempt number `attempt` (1-based). */
export function backoffDelayMs(policy: RetryPolicy, attempt: number): number {
  return Math.min(policy.maxBackoffMs, policy.initialBackoffMs * 2 ** (attempt - 1));
}
