/**
 * `npm run fuzz -- --runs 100000 [--seed N]`: runs every parser's fast-check property (the same
 * ones the test suites run with fewer inputs) `--runs` times, printing the seed so a failure can be
 * replayed with `--seed`. Exits non-zero on a counterexample (a throw or a 5xx). Not part of `npm test`.
 */
import fc from 'fast-check';
import { parserProperties } from '../test/fuzz/parser-properties.js';

function argument(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const runs = Number(argument('runs') ?? 100_000);
const seed = Number(argument('seed') ?? Date.now() % 2 ** 31);
let failed = false;
for (const [name, property] of Object.entries(parserProperties)) {
  const started = process.hrtime.bigint();
  const details = fc.check(property, { numRuns: runs, seed });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (details.failed) {
    failed = true;
    console.log(`${name}: FAILED after ${details.numRuns} runs, seed ${seed}, path ${details.counterexamplePath ?? ''}: ${String(details.errorInstance ?? '')}`);
  } else {
    console.log(`${name}: ${details.numRuns} runs, seed ${seed}, ${seconds.toFixed(1)} s, no failure`);
  }
}
process.exit(failed ? 1 : 0);
