import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ModelManifest } from '../../../src/contracts/manifest-types.js';
import type { InputSummary } from '../../../src/contracts/model-monitoring.js';
import type { ServedModel } from '../../../src/contracts/served-model.js';
import { inputDrift } from '../../../src/validation/input-drift.js';
import { monitoringAlerts } from '../../../src/validation/model-monitor.js';

// The shipped late-fusion manifest (reference model trained on synthetic data) for its feature
// names and training moments only: no figure of the model itself is asserted.
const dir = join(process.cwd(), 'models', 'late-fusion', '1');
const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as ModelManifest;
const model: ServedModel = { manifest, dir, cardMarkdown: '', sha256: '' };
const NAME = `${manifest.name}@${manifest.version}`;
const features = manifest.preprocessing.tabular!.features.map((f) => f.name);
const ecg = manifest.outOfDistribution!.modalities.ecg!;

/** A seeded standard normal (Box–Muller over a linear congruential generator). */
function normal(seed: number): () => number {
  let state = seed >>> 0;
  const uniform = (): number =>
    ((state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0) + 1) / 4_294_967_297;
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

/** `n` assessments drawn like the training split, with `shift` added (in training SDs) where named. */
function window(
  n: number,
  shift: { feature?: string; ecgStatistic?: number; by: number },
  seed = 7,
): InputSummary[] {
  const z = normal(seed);
  return Array.from({ length: n }, (_, i) => ({
    features: Object.fromEntries(features.map((f) => [f, z() + (f === shift.feature ? shift.by : 0)])),
    statistics: {
      ecg: ecg.statistics!.map(
        (_, j) => ecg.center![j]! + ecg.scale![j]! * (z() + (j === shift.ecgStatistic ? shift.by : 0)),
      ),
    },
    missing: i % 4 === 0 ? ['image'] : [],
    outOfDistribution: i % 20 === 0 ? ['image'] : [],
  }));
}

function snapshotOf(summaries: InputSummary[], bounds: { minCases: number; maxDriftSmd: number }) {
  const drift = inputDrift(
    summaries.map((summary) => ({ model: NAME, summary })),
    [model],
  );
  const withoutAlerts = {
    ranAt: new Date(0).toISOString(),
    settings: {
      labelWindowDays: 30,
      outcomeWindowDays: 90,
      driftWindowDays: 7,
      maxCalibrationError: 0.1,
      ...bounds,
    },
    labelledThisRun: 0,
    pending: {},
    outcomes: [],
    driftWindowAssessments: drift.windowAssessments,
    drift: drift.drift,
    modalities: drift.modalities,
  };
  return { ...withoutAlerts, alerts: monitoringAlerts(withoutAlerts) };
}

describe('input drift (issue 19 point 5)', () => {
  const bounds = { minCases: 200, maxDriftSmd: 0.25 };

  it('raises no alert on inputs drawn like the training split', () => {
    const s = snapshotOf(window(1000, { by: 0 }), bounds);
    expect(s.driftWindowAssessments[NAME]).toBe(1000);
    expect(s.drift.filter((d) => d.modality === 'tabular')).toHaveLength(features.length);
    expect(s.drift.filter((d) => d.modality === 'ecg')).toHaveLength(ecg.statistics!.length);
    expect(Math.max(...s.drift.map((d) => Math.abs(d.smd)))).toBeLessThan(0.15);
    expect(s.alerts).toEqual([]);
  });

  it('fires on a shifted lab and on a shifted ECG statistic, naming the feature', () => {
    const lab = snapshotOf(window(1000, { feature: 'creatinine', by: 0.6 }), bounds);
    expect(lab.alerts).toEqual([
      expect.objectContaining({ kind: 'drift', model: NAME, subject: 'tabular/creatinine', bound: 0.25 }),
    ]);
    expect(lab.alerts[0]!.value).toBeGreaterThan(0.45);
    const wave = snapshotOf(window(1000, { ecgStatistic: 0, by: -0.6 }), bounds);
    expect(wave.alerts).toEqual([
      expect.objectContaining({ kind: 'drift', subject: `ecg/${ecg.statistics![0]}` }),
    ]);
    expect(wave.alerts[0]!.value).toBeLessThan(-0.45);
  });

  it('respects the bound and the minimum case count', () => {
    const shifted = window(1000, { feature: 'creatinine', by: 0.6 });
    expect(snapshotOf(shifted, { ...bounds, maxDriftSmd: 1 }).alerts).toEqual([]);
    // The same shift seen in 150 assessments only: shown, not alerted on.
    const few = snapshotOf(shifted.slice(0, 150), bounds);
    expect(few.drift.find((d) => d.feature === 'creatinine')!.smd).toBeGreaterThan(0.3);
    expect(few.alerts).toEqual([]);
  });

  it('counts missing and out-of-distribution modalities over the window', () => {
    const s = snapshotOf(window(400, { by: 0 }), bounds);
    const image = s.modalities.find((m) => m.modality === 'image')!;
    expect(image.missingRatio).toBe(0.25);
    expect(image.outOfDistributionRatio).toBe(0.05);
    expect(s.modalities.find((m) => m.modality === 'tabular')!.missingRatio).toBe(0);
  });
});
