import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { auroc, brierScore, expectedCalibrationError } from '../../../src/evaluation/binary-metrics.js';
import { createMetrics } from '../../../src/observability/create-metrics.js';
import { scorePatient } from '../../../src/pipeline/score-patient.js';
import type { CohortLabel } from '../../../src/sandbox/cohort/generate-patient.js';
import { generateCohort } from '../../../src/sandbox/cohort/generate-patient.js';
import { outcomeConditions } from '../../../src/sandbox/cohort/outcome-conditions.js';
import { recentAssessments } from '../../../src/store/ledger-repository.js';
import { createModelMonitor } from '../../../src/validation/model-monitor.js';
import { useFusionFixture } from '../../helpers/fusion-fixture.js';

const PATIENTS = 40;
const DAY = 86_400_000;
const CODES = {
  acuteHeartFailure: '56675007',
  pneumonia: '233604007',
  atrialFibrillation: '49436004',
} as const;

function close(a: number | null, b: number): void {
  expect(a).not.toBeNull();
  // The evaluation's estimates are rounded to 4 decimals.
  expect(Math.abs((a as number) - Math.round(b * 10_000) / 10_000)).toBeLessThan(1e-9);
}

// Issue 19 point 5 (second half): the running server's model monitor, against the sandbox EHR's
// synthetic patients (reference models trained on synthetic data; the figures say nothing about
// real patients, and the test checks the machinery, not the models' quality).
const fixture = useFusionFixture({
  subscribe: false, // the test scores each patient itself
  config: () => ({
    ACTIVE_MODELS: 'tabular-risk@1',
    INFERENCE_THREADS: '1',
    // Long enough that the timer never runs during the test: the test calls runOnce itself.
    MONITORING_INTERVAL_MS: String(7 * DAY),
    MONITORING_MIN_CASES: '10',
    // Any calibration error is above 0: the calibration alert must fire; drift bound out of reach.
    MONITORING_MAX_CALIBRATION_ERROR: '0',
    MONITORING_MAX_DRIFT_SMD: '1000',
  }),
});

describe('model monitor against the sandbox EHR', () => {
  it('labels written assessments from outcomes that arrive later, publishes the metrics, alerts on the bound, logs no patient', async () => {
    const { runtime, ehr, pool, server } = fixture();
    const serving = runtime.serving!;
    const now = new Date();
    const cohort = [
      ...generateCohort({
        patients: PATIENTS,
        seed: 1905,
        now,
        labelsOnly: true,
        dicomwebBaseUrl: `${new URL(fixture().fhirBaseUrl).origin}/dicomweb`,
      }),
    ];
    await ehr.repo.withPrevalidatedWrites(async () => {
      for (const p of cohort) for (const resource of p.resources) await ehr.repo.updateResource(resource);
    });
    for (const p of cohort) {
      const record = await serving.pipeline.assemble(p.patientId, now);
      await scorePatient(record!, {
        ...serving.pipeline,
        db: pool,
        models: serving.models,
        traceId: `monitor-${p.patientId}`,
      });
    }
    // Assessments that gave a probability for some outcome (one that abstains on all is not monitored).
    const ledger = await recentAssessments(pool, 500);
    expect(ledger).toHaveLength(PATIENTS);
    const monitored = ledger.filter((r) => (r.predictions as unknown[]).length > 0).length;
    expect(monitored).toBeGreaterThan(PATIENTS / 2);
    // Outcomes arrive after the assessments: discharge diagnoses recorded three days later; one
    // patient's heart failure was already on record (prevalent: left out and counted).
    const labels = new Map<string, CohortLabel>(cohort.map((p) => [p.patientId, p.labels]));
    const prevalent = cohort.find((p) => p.labels.conditions.acuteHeartFailure)!.patientId;
    await ehr.repo.withPrevalidatedWrites(async () => {
      for (const p of cohort) {
        const recorded = new Date(now.getTime() + (p.patientId === prevalent ? -5 : 3) * DAY);
        for (const c of outcomeConditions(p.labels, recorded)) await ehr.repo.updateResource(c);
      }
    });

    // Before the label window closes nothing is labelled: the assessments are pending.
    const early = await server.server.monitor!.runOnce(new Date(now.getTime() + DAY));
    expect(early.labelledThisRun).toBe(0);
    expect(early.pending['tabular-risk@1']).toBe(monitored);
    expect(early.outcomes).toHaveLength(0);
    // Input drift of what the model saw in the last days: every assessment, every feature measured.
    expect(early.driftWindowAssessments['tabular-risk@1']).toBe(PATIENTS);
    expect(early.drift.filter((d) => d.modality === 'tabular').length).toBeGreaterThan(5);
    expect(early.alerts.filter((a) => a.kind === 'drift')).toHaveLength(0); // bound out of reach
    const earlyMetrics = (await server.server.inject({ url: '/metrics' })).body;
    expect(earlyMetrics).toMatch(
      /fhir_fusion_input_drift_smd\{model="tabular-risk@1",modality="tabular",feature="age_years"\} -?[\d.e-]+/,
    );
    expect(earlyMetrics).toContain(
      `fhir_fusion_input_window_assessments{model="tabular-risk@1"} ${PATIENTS}`,
    );
    expect(earlyMetrics).toMatch(
      /fhir_fusion_input_missing_ratio\{model="tabular-risk@1",modality="tabular"\} [\d.]+/,
    );

    // A monitor of our own whose log lines we read; then the server's, whose gauges /metrics shows.
    const lines: string[] = [];
    const logger = pino(
      { level: 'trace' },
      new Writable({ write: (chunk: Buffer, _e, done) => (lines.push(chunk.toString()), done()) }),
    );
    const afterWindow = new Date(now.getTime() + 31 * DAY);
    const own = createModelMonitor(
      { db: pool, ehr: runtime.ehr, models: () => serving.models, metrics: createMetrics(), logger },
      { ...runtime.config, MONITORING_INTERVAL_MS: 0 },
    );
    const first = await own.runOnce(afterWindow);
    await own.close();
    expect(first.labelledThisRun).toBe(monitored);
    const snapshot = await server.server.monitor!.runOnce(afterWindow);
    expect(snapshot.labelledThisRun).toBe(0); // each assessment is labelled once

    // The expected cases, from the ledger's probabilities and the cohort's ground truth.
    expect(snapshot.outcomes.map((o) => o.outcome).sort()).toEqual(Object.values(CODES).sort());
    for (const o of snapshot.outcomes) {
      const key = (Object.keys(CODES) as Array<keyof typeof CODES>).find((k) => CODES[k] === o.outcome)!;
      const y: number[] = [];
      const p: number[] = [];
      let excluded = 0;
      for (const row of ledger) {
        const prediction = (row.predictions as Array<{ code?: string; probability: number }>).find(
          (x) => x.code === o.outcome,
        );
        if (!prediction) continue;
        const patient = String(row.patient_id);
        if (patient === prevalent && labels.get(patient)!.conditions[key]) {
          excluded++;
          continue;
        }
        y.push(labels.get(patient)!.conditions[key] ? 1 : 0);
        p.push(prediction.probability);
      }
      expect(o.n).toBe(y.length);
      expect(o.prevalentExcluded).toBe(excluded);
      expect(o.positives).toBe(y.filter((v) => v === 1).length);
      if (o.positives > 0 && o.positives < o.n) close(o.auroc.value, auroc(y, p));
      close(o.brier.value, brierScore(y, p));
      close(o.ece.value, expectedCalibrationError(y, p));
      expect(o.ece.lower!).toBeLessThanOrEqual(o.ece.value!);
      expect(o.ece.upper!).toBeGreaterThanOrEqual(o.ece.value!);
    }
    expect(snapshot.outcomes.find((o) => o.outcome === CODES.acuteHeartFailure)!.prevalentExcluded).toBe(1);

    // Bounds respected: calibration alerts (bound 0) for each outcome with enough cases, no drift alert.
    const enough = snapshot.outcomes.filter((o) => o.n >= 10);
    expect(snapshot.alerts.filter((a) => a.kind === 'calibration')).toHaveLength(enough.length);
    expect(snapshot.alerts.filter((a) => a.kind === 'drift')).toHaveLength(0);

    const metrics = (await server.server.inject({ url: '/metrics' })).body;
    const hf = snapshot.outcomes.find((o) => o.outcome === CODES.acuteHeartFailure)!;
    expect(metrics).toContain(
      `fhir_fusion_monitoring_cases{model="tabular-risk@1",outcome="56675007"} ${hf.n}`,
    );
    expect(metrics).toMatch(
      /fhir_fusion_monitoring_calibration_error\{model="tabular-risk@1",outcome="56675007",statistic="ci95_upper"\} [\d.]+/,
    );
    expect(metrics).toContain('fhir_fusion_monitoring_alert{kind="calibration",model="tabular-risk@1"} 1');
    expect(metrics).toContain('fhir_fusion_monitoring_alert{kind="drift",model="tabular-risk@1"} 0');
    const page = (await server.server.inject({ url: '/' })).body;
    expect(page).toContain('Model monitoring alert');
    expect(page).toContain(hf.display);

    // The alert was logged as a structured event; no log line names a patient.
    const events = lines.map((l) => JSON.parse(l) as { event?: string; kind?: string });
    expect(
      events.filter((e) => e.event === 'model-monitoring-alert' && e.kind === 'calibration'),
    ).toHaveLength(enough.length);
    const text = lines.join('\n');
    for (const p of cohort) expect(text).not.toContain(p.patientId);

    // Drift through the pipeline: a lab analyser now reports creatinine three times too high. The
    // same patients are assessed again on the new Observation versions; the drift window then holds
    // both batches, and the default bound (|SMD| 0.25) fires on creatinine.
    await ehr.repo.withPrevalidatedWrites(async () => {
      for (const p of cohort)
        for (const r of p.resources)
          if (
            r.resourceType === 'Observation' &&
            r.code?.coding?.some((c) => c.code === '2160-0') &&
            r.valueQuantity?.value !== undefined
          )
            await ehr.repo.updateResource({
              ...r,
              valueQuantity: { ...r.valueQuantity, value: r.valueQuantity.value * 3 },
            });
    });
    for (const p of cohort) {
      const record = await serving.pipeline.assemble(p.patientId, now);
      await scorePatient(record!, {
        ...serving.pipeline,
        db: pool,
        models: serving.models,
        traceId: `monitor-shift-${p.patientId}`,
      });
    }
    const driftLines: string[] = [];
    const drift = createModelMonitor(
      {
        db: pool,
        ehr: runtime.ehr,
        models: () => serving.models,
        metrics: createMetrics(),
        logger: pino(
          { level: 'info' },
          new Writable({ write: (chunk: Buffer, _e, done) => (driftLines.push(chunk.toString()), done()) }),
        ),
      },
      { ...runtime.config, MONITORING_INTERVAL_MS: 0, MONITORING_MAX_DRIFT_SMD: 0.25 },
    );
    const shifted = await drift.runOnce(new Date(now.getTime() + DAY));
    await drift.close();
    const creatinine = shifted.drift.find((d) => d.model === 'tabular-risk@1' && d.feature === 'creatinine')!;
    const before = early.drift.find((d) => d.model === 'tabular-risk@1' && d.feature === 'creatinine')!;
    expect(creatinine.smd - before.smd).toBeGreaterThan(1);
    expect(shifted.alerts).toContainEqual(
      expect.objectContaining({ kind: 'drift', model: 'tabular-risk@1', subject: 'tabular/creatinine' }),
    );
    const driftEvents = driftLines.map((l) => JSON.parse(l) as { event?: string; subject?: string });
    expect(driftEvents).toContainEqual(
      expect.objectContaining({ event: 'model-monitoring-alert', subject: 'tabular/creatinine' }),
    );
    for (const p of cohort) expect(driftLines.join('\n')).not.toContain(p.patientId);
  }, 400_000);
});
