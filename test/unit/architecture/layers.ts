/**
 * Layers of `src/`, top to bottom. A folder (the first path segment under `src/`; a top-level file
 * counts as its own name without `.ts`) may import only folders in strictly lower layers, plus its
 * own. `import-directions.test.ts` enforces them; `readme-layout.test.ts` checks that the README's
 * "Architecture" diagram draws the same rows.
 */
export const layers: readonly (readonly string[])[] = [
  // The command line, and `main.ts` (listen + graceful shutdown) which `serve` and `demo` start.
  ['cli'],
  ['main'],
  // Local validation (`fhir-fusion validate`): the backfill's export and scoring, the evaluation's
  // statistics, on the hospital's own patients; above both because it uses both. The running
  // server's model monitor lives here too (same labeller and statistics); `main` passes it to the app.
  ['validation'],
  // Entry points over the runtime: the fastify app, the bulk backfill, the offline evaluation (which
  // measures what the stages below serve: scoring and similar-case retrieval).
  ['app', 'backfill', 'evaluation'],
  // Opens everything once, closes it in reverse.
  ['runtime'],
  // The stages: what a request or a job does. subscriptions/ (registering and watching the EHR's
  // subscriptions, resolving id-only events, gap recovery) sits above intake/ because what it
  // recovers enters the inbox through intake's parse-and-store, like a delivered notification.
  ['review', 'similar-cases', 'pipeline', 'subscriptions'],
  ['intake'],
  // What the stages are built from. security/ (operator access, EHR audit trail) and http/ (error
  // handler, health and page routes) are fastify and fetch plumbing the stages share.
  ['assembly', 'preprocess', 'inference', 'writeback', 'jobs', 'security', 'http'],
  // Talking to the outside: the EHR/PACS client and Postgres.
  ['fhir', 'store'],
  // Shared by everything: configuration, logs/metrics/traces, PNG drawing (model-card plots and the
  // sandbox's ECG prints) …
  ['config', 'observability', 'raster'],
  // … and the types every stage shares (they import nothing of ours but each other).
  ['contracts'],
];
