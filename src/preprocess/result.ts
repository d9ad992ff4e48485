import type { MissingReason } from '../contracts/patient-record.js';
import { err, type Result } from '../contracts/result.js';

export { ok } from '../contracts/result.js';

/**
 * Why preprocessing refused an input. Nothing in `src/preprocess/` throws on bad input: a failure
 * names a {@link MissingReason} so the modality can be reported as missing, and a `detail` that
 * never contains patient values (only element paths, codes, sizes and counts).
 */
export interface PreprocessFailure {
  reason: MissingReason;
  detail: string;
}

/** Outcome of parsing or preprocessing outside input. */
export type PreprocessResult<T> = Result<T, PreprocessFailure>;

/** A failed {@link PreprocessResult}; `detail` must be free of patient data. */
export function fail<T = never>(reason: MissingReason, detail: string): PreprocessResult<T> {
  return err({ reason, detail });
}
