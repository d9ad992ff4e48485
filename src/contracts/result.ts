/**
 * The one result type of the server: what a parser, a validator or a lookup returns instead of
 * throwing (CONTRIBUTING "parsers return typed results"). Success always carries `value`; a
 * failure carries `ok: false` and the fields its caller needs to answer, which differ by boundary
 * (an HTTP status and an OperationOutcome at the intake, the manifest's issues at load time, a
 * missing-modality reason in preprocessing). Narrow on `ok`.
 */
export type Result<T, F extends object> = Ok<T> | Err<F>;

/** The success side of a {@link Result}. */
export interface Ok<T> {
  ok: true;
  value: T;
}

/** The failure side of a {@link Result}: `ok: false` plus the failure's own fields. */
export type Err<F extends object> = { ok: false } & F;

/** A successful {@link Result}. */
export function ok<T>(value: T): Ok<T> {
  return { ok: true, value };
}

/** A failed {@link Result} carrying `failure`'s fields. */
export function err<F extends object>(failure: F): Err<F> {
  return { ok: false, ...failure };
}
