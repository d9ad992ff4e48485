import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commands } from '../../../src/cli/commands.js';
import {
  auprc,
  auroc,
  brierScore,
  expectedCalibrationError,
} from '../../../src/evaluation/binary-metrics.js';
import { bulkExportPlugin } from '../../../src/sandbox/bulk-export/bulk-export-plugin.js';
import type { CohortLabel } from '../../../src/sandbox/cohort/generate-patient.js';
import { generateCohort } from '../../../src/sandbox/cohort/generate-patient.js';
import { outcomeConditions } from '../../../src/sandbox/cohort/outcome-conditions.js';
import type { SandboxEhr } from '../../../src/sandbox/ehr/sandbox-ehr.js';
import { createSandboxEhr } from '../../../src/sandbox/ehr/sandbox-ehr.js';
import type { ValidationReport } from '../../../src/validation/run-validation.js';
import type { TestDatabase } from '../../helpers/test-database.js';
import { createTestDatabase } from '../../helpers/test-database.js';

const PATIENTS = 60;
const DAY = 86_400_000;
/** The assessment time: the cohort's encounters end here; its discharge diagnoses come 3 days later. */
const AS_OF = new Date(Math.floor(Date.now() / DAY) * DAY - 20 * DAY);

function close(a: number | null, b: number): void {
  expect(a).not.toBeNull();
  expect(Math.abs((a as number) - Math.round(b * 10_000) / 10_000)).toBeLessThan(1e-9);
}

// Issue 19 point 5: `fhir-fusion validate` on the sandbox EHR's synthetic patients (synthetic data:
// the figures say nothing about real patients). The labels are the cohort's ground truth, written
// as Conditions recorded after the assessment time; one patient's Condition predates it.
describe('fhir-fusion validate against the sandbox EHR', () => {
  let db: TestDatabase;
  let ehr: SandboxEhr;
  let fhirBaseUrl: string;
  let out: string;
  let labels: CohortLabel[];
  const env = { ...process.env };

  beforeAll(async () => {
    db = await createTestDatabase();
    ehr = await createSandboxEhr({ logger: false });
    await ehr.app.register(bulkExportPlugin, { prefix: '/fhir', repo: ehr.repo });
    fhirBaseUrl = await ehr.listen(0, '127.0.0.1');
    const cohort = [
      ...generateCohort({
        patients: PATIENTS,
        seed: 19,
        dicomwebBaseUrl: `${new URL(fhirBaseUrl).origin}/dicomweb`,
        now: AS_OF,
        labelsOnly: true,
      }),
    ];
    labels = cohort.map((p) => p.labels);
    // The first patient with heart failure had it on record before the assessment: prevalent.
    const prevalent = labels.find((l) => l.conditions.acuteHeartFailure)!;
    await ehr.repo.withPrevalidatedWrites(async () => {
      for (const p of cohort) {
        for (const resource of p.resources) await ehr.repo.updateResource(resource);
        const recorded =
          p.labels === prevalent ? new Date(AS_OF.getTime() - 5 * DAY) : new Date(AS_OF.getTime() + 3 * DAY);
        for (const c of outcomeConditions(p.labels, recorded, `${p.patientId}-enc`))
          await ehr.repo.updateResource(c);
      }
    });
    out = await mkdtemp(join(tmpdir(), 'validate-'));
    Object.assign(process.env, {
      DATABASE_URL: db.url,
      FHIR_BASE_URL: fhirBaseUrl,
      DICOMWEB_BASE_URL: `${new URL(fhirBaseUrl).origin}/dicomweb`,
      ACTIVE_MODELS: 'tabular-risk@1,ecg-cnn@1',
      INFERENCE_THREADS: '1',
      LOG_LEVEL: 'error',
      OUTBOUND_TIMEOUT_MS: '60000',
    });
  }, 180_000);

  afterAll(async () => {
    process.env = env;
    await ehr?.close();
    await db?.drop();
    if (out) await rm(out, { recursive: true, force: true });
  });

  it('scores every patient, labels them from later Conditions and reports metrics that match a direct computation', async () => {
    // Through the command's own argument handling, as `fhir-fusion validate … --as-of … --out …` runs it.
    const code = await commands.validate!.run({
      values: { level: 'system', outcomes: '', 'window-days': '30', 'as-of': AS_OF.toISOString(), out },
      positionals: [],
    });
    expect(code).toBe(0);
    const report = JSON.parse(await readFile(join(out, 'report.json'), 'utf8')) as ValidationReport;
    const html = await readFile(join(out, 'report.html'), 'utf8');
    expect(report.asOf).toBe(AS_OF.toISOString());
    expect(report.patients.exported).toBe(PATIENTS);

    const tabular = report.models.find((m) => m.model === 'tabular-risk@1')!;
    expect(tabular.assessed).toBe(PATIENTS);
    // labels-only cohort: no ECG waveforms, so the ECG model abstains for everyone — counted, not dropped.
    const ecg = report.models.find((m) => m.model === 'ecg-cnn@1')!;
    expect(ecg.assessed + Object.values(ecg.abstained).reduce((a, b) => a + b, 0)).toBe(PATIENTS);
    expect(ecg.abstained['requires ecg']).toBeGreaterThan(0);

    const first = labels.find((l) => l.conditions.acuteHeartFailure)!.conditions;
    const prevalentCodes = new Set(
      [
        first.acuteHeartFailure ? '56675007' : '',
        first.pneumonia ? '233604007' : '',
        first.atrialFibrillation ? '49436004' : '',
      ].filter(Boolean),
    );
    const truth = {
      '56675007': labels.filter((l) => l.conditions.acuteHeartFailure).length,
      '233604007': labels.filter((l) => l.conditions.pneumonia).length,
      '49436004': labels.filter((l) => l.conditions.atrialFibrillation).length,
    } as Record<string, number>;
    expect(tabular.outcomes.map((o) => o.code).sort()).toEqual(Object.keys(truth).sort());
    for (const o of tabular.outcomes) {
      const notAssessed = Object.values(o.notAssessed).reduce((a, b) => a + b, 0);
      expect(o.evaluated + o.prevalentExcluded + notAssessed).toBe(PATIENTS);
      // Every Condition of that patient predates the assessment (heart failure and whatever else they have).
      const prevalent = prevalentCodes.has(o.code) ? 1 : 0;
      expect(o.prevalentExcluded).toBe(prevalent);
      if (notAssessed === 0) expect(o.overall.positives).toBe(truth[o.code]! - prevalent);
      expect(o.overall.positives).toBeGreaterThan(0);
      expect(o.overall.positives).toBeLessThan(o.evaluated);

      const y = o.cases.map((c) => c.label);
      const p = o.cases.map((c) => c.probability);
      close(o.overall.auroc.value, auroc(y, p));
      close(o.overall.auprc.value, auprc(y, p));
      close(o.overall.brier.value, brierScore(y, p));
      close(o.overall.ece.value, expectedCalibrationError(y, p));
      for (const m of [o.overall.auroc, o.overall.brier, o.overall.ece]) {
        expect(m.lower!).toBeLessThanOrEqual(m.value!);
        expect(m.upper!).toBeGreaterThanOrEqual(m.value!);
      }
      // An interval, not a point (AUROC can be 1 in every resample on this easy synthetic cohort).
      expect(o.overall.brier.upper!).toBeGreaterThan(o.overall.brier.lower!);
      const sexes = Object.entries(o.subgroups).filter(([g]) => g.startsWith('sex '));
      const ages = Object.entries(o.subgroups).filter(([g]) => g.startsWith('age '));
      expect(sexes.reduce((a, [, s]) => a + s.n, 0)).toBe(o.evaluated);
      expect(ages.reduce((a, [, s]) => a + s.n, 0)).toBe(o.evaluated);
      expect(html).toContain(o.display);
    }
    expect(html).toContain('requires ecg');

    // No write-back: the sandbox holds no RiskAssessment afterwards.
    const search = await fetch(`${fhirBaseUrl}/RiskAssessment`);
    const bundle = (await search.json()) as { entry?: unknown[]; total?: number };
    expect(bundle.entry ?? []).toHaveLength(0);
  }, 300_000);
});
