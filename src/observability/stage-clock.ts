import { AsyncLocalStorage, createHook } from 'node:async_hooks';
import { performance } from 'node:perf_hooks';

/**
 * Pipeline stages whose main-thread time is accounted per stage (issue 26). Preprocessing is split
 * per modality; `other` is every callback run outside a named stage (HTTP parsing, timers, pg-boss
 * bookkeeping, metrics scrapes).
 */
export type ClockStage =
  | 'intake'
  | 'queue'
  | 'assembly'
  | 'preprocess:tabular'
  | 'preprocess:text'
  | 'preprocess:image'
  | 'preprocess:ecg'
  | 'inference'
  | 'explanation'
  | 'validation'
  | 'write-back'
  | 'ledger'
  | 'other';

/**
 * Charges the time the main thread spends running JavaScript to the pipeline stage that scheduled
 * it, so concurrent patients interleaving on one event loop are each charged only their own work.
 * Off (the default), `run` is a plain call and nothing is hooked.
 */
export interface StageClock {
  readonly enabled: boolean;
  /** Runs `fn` — and every callback it schedules, transitively — as `stage`. */
  run<T>(stage: ClockStage, fn: () => T): T;
  /**
   * Milliseconds charged to each stage since the clock started: `main`, measured on the main
   * thread by the clock; `added`, CPU other threads reported through {@link StageClock.add}.
   */
  snapshot(): StageTimes;
  /** Adds CPU measured on another thread (e.g. an inference worker's session.run) to a stage. */
  add(stage: ClockStage, ms: number): void;
  /** Unhooks (idempotent). */
  stop(): void;
}

/** Milliseconds per stage; see {@link StageClock.snapshot}. */
export interface StageTimes {
  main: Partial<Record<ClockStage, number>>;
  added: Partial<Record<ClockStage, number>>;
}

/** A clock that measures nothing: `run` calls `fn`. */
export function createDisabledStageClock(): StageClock {
  return {
    enabled: false,
    run: (_stage, fn) => fn(),
    snapshot: () => ({ main: {}, added: {} }),
    add: () => undefined,
    stop: () => undefined,
  };
}

/**
 * A measuring clock. `async_hooks` `before`/`after` mark where each callback starts and ends on the
 * main thread; `AsyncLocalStorage` carries the stage from `run` into the callbacks it schedules
 * (its store is already the entered resource's in `before`). Nested `run`s and nested callbacks
 * charge the innermost stage: a stack of open stages, each interval charged to its top.
 *
 * Time is `performance.now()` while the thread runs JavaScript of the stage (garbage collection
 * triggered there included): the thread's own CPU as long as the operating system does not
 * preempt it. Node 20 has no per-thread CPU clock and reading one from /proc per callback would
 * cost more than the callbacks, so a benchmark scales these shares to the main thread's CPU over
 * the run (`threadCpuMs`), which is exact in total and assumes preemption hits stages alike.
 * Promise hooks slow promise-heavy code, so the clock is meant for benchmarks
 * (`STAGE_CPU_ACCOUNTING=true`), not for production.
 */
export function createStageClock(): StageClock {
  const store = new AsyncLocalStorage<ClockStage>();
  const totals = new Map<ClockStage, number>();
  const added = new Map<ClockStage, number>();
  const open: ClockStage[] = [];
  let mark = performance.now();
  const charge = (): void => {
    const now = performance.now();
    const top = open[open.length - 1];
    if (top !== undefined) totals.set(top, (totals.get(top) ?? 0) + (now - mark));
    mark = now;
  };
  const hook = createHook({
    before() {
      charge();
      open.push(store.getStore() ?? 'other');
    },
    after() {
      charge();
      open.pop();
    },
  }).enable();
  return {
    enabled: true,
    run(stage, fn) {
      charge();
      open.push(stage);
      try {
        return store.run(stage, fn);
      } finally {
        charge();
        open.pop();
      }
    },
    snapshot: () => ({ main: Object.fromEntries(totals), added: Object.fromEntries(added) }),
    add(stage, ms) {
      added.set(stage, (added.get(stage) ?? 0) + ms);
    },
    stop: () => hook.disable(),
  };
}
