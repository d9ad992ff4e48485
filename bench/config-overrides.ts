// Settings a benchmark run may take from the environment, so one script measures a lever on and
// off (e.g. `VALIDATION_WORKER=false npm run bench -- cpu-per-patient` for the "before" run).
const PASSED = [
  'VALIDATION_WORKER',
  'TENSOR_CACHE_MAX_BYTES',
  'TENSOR_CACHE_MAX_ENTRIES',
  'INFERENCE_THREADS',
  'JOB_CONCURRENCY',
  'BATCH_MAX_SIZE',
  'BATCH_MAX_DELAY_MS',
  'DATABASE_URL',
] as const;

/** The PASSED settings present in `process.env`. */
export function configOverrides(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of PASSED) {
    const value = process.env[key];
    if (value !== undefined) out[key] = value;
  }
  return out;
}

/** `KEY=value …` of the overrides in effect, for the printed run description. */
export function describeOverrides(): string {
  const entries = Object.entries(configOverrides()).filter(([k]) => k !== 'DATABASE_URL');
  return entries.length > 0 ? entries.map(([k, v]) => `${k}=${v}`).join(' ') : 'defaults';
}
