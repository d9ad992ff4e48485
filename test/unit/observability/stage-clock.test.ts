/**
 * The stage clock (issue 26) charges main-thread work to the stage that scheduled it, through
 * awaits and timers, and to the innermost of nested stages. Only which stage is charged is
 * asserted, never how long anything took.
 */
import { describe, expect, it } from 'vitest';
import { createDisabledStageClock, createStageClock } from '../../../src/observability/stage-clock.js';

/** Burns some CPU (a result is returned so the loop is not optimised away). */
function work(): number {
  let x = 0;
  for (let i = 0; i < 200_000; i++) x += Math.sqrt(i);
  return x;
}

describe('stage clock', () => {
  it('follows a stage through awaits and timers, and charges nested stages to the inner one', async () => {
    const clock = createStageClock();
    try {
      await clock.run('assembly', async () => {
        await new Promise((r) => setTimeout(r, 1));
        work();
        clock.run('validation', work);
        await Promise.resolve();
        work();
      });
      await new Promise<void>((resolve) => setImmediate(() => (work(), resolve())));
      clock.add('inference', 3);
      const { main, added } = clock.snapshot();
      expect(main.assembly).toBeGreaterThan(0);
      expect(main.validation).toBeGreaterThan(0);
      expect(main.other).toBeGreaterThan(0);
      expect(main.inference).toBeUndefined();
      expect(added).toEqual({ inference: 3 });
    } finally {
      clock.stop();
    }
  });

  it('keeps concurrent stages apart', async () => {
    const clock = createStageClock();
    try {
      const a = clock.run('preprocess:ecg', async () => {
        await new Promise((r) => setTimeout(r, 1));
        work();
      });
      const b = clock.run('ledger', async () => {
        await new Promise((r) => setTimeout(r, 1));
      });
      await Promise.all([a, b]);
      const charged = Object.keys(clock.snapshot().main).sort();
      expect(charged.filter((s) => s !== 'other')).toEqual(['ledger', 'preprocess:ecg']);
    } finally {
      clock.stop();
    }
  });

  it('when disabled, runs the function and measures nothing', async () => {
    const clock = createDisabledStageClock();
    expect(await clock.run('assembly', async () => 42)).toBe(42);
    clock.add('inference', 5);
    expect(clock.snapshot()).toEqual({ main: {}, added: {} });
  });
});
