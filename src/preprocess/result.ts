import type { MissingReason } from '../contracts/patient-record.js';

/**
 * Outcome of parsing or preprocessing outside input. Nothing in `src/preprocess/` throws on bad
 * input: a failure names a {@link MissingReason} so the modality can be reported as missing, and a
 * `detail` that never contains patient values (only element paths, codes, sizes and counts).
 */
export type PreprocessResult<T> =
  | { ok: true; value: T }
  | { ok: false; reason: MissingReason; detail: string };

/** A successful {@link PreprocessResult}. */
export function ok<T>(value: T): PreprocessResult<T> {
  return { ok: true, value };
}

/** A failed {@link PreprocessResult}; `detail` must be free of patient data. */
export function fail<T = never>(reason: MissingReason, detail: string): PreprocessResult<T> {
  return { ok: false, reason, detail };
}
