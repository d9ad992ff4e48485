/**
 * The logging surface the inference code needs: pino's `(object, message)` form. A pino `Logger`
 * satisfies it; tests pass a capturing one. Never log patient identifiers or tensor values here.
 */
export interface InferenceLogger {
  debug(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}
