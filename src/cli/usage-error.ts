/**
 * Bad command-line arguments. A command throws it where the words it was given make no sense;
 * `fhir-fusion` prints the message alone (no stack: nothing went wrong inside) and exits 2, the
 * usual exit status for wrong usage, so scripts can tell it from a failed run (1).
 */
export class UsageError extends Error {
  override name = 'UsageError';
}
