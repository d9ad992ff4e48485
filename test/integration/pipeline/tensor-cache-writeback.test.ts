import type { RiskAssessment } from '@medplum/fhirtypes';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scorePatient } from '../../../src/pipeline/score-patient.js';
import { createDicomStore } from '../../../src/sandbox/dicomweb/dicom-store.js';
import { dicomwebPlugin } from '../../../src/sandbox/dicomweb/dicomweb-plugin.js';
import { roundProbability } from '../../../src/writeback/fhir-codings.js';
import { loadCompleteCohort, pipelineStagesOf, useFusionFixture } from '../../helpers/fusion-fixture.js';

/**
 * Issue #26: the preprocessed-tensor cache must not change a single written probability. A
 * synthetic cohort with every modality (reference models trained on synthetic data) is scored by
 * the server's own pipeline (cache on, the default) — each patient twice, so the second pass is
 * served from the cache — and every RiskAssessment it writes is compared with what a pipeline
 * with the cache off (TENSOR_CACHE_MAX_BYTES=0) predicts for the same record.
 */
const dicom = Fastify({ logger: false });
let dicomwebBaseUrl = '';
const MODELS = 'attention-fusion@1,late-fusion@1,ecg-image-cnn@1';

beforeAll(async () => {
  await dicom.register(dicomwebPlugin, { prefix: '/dicomweb', store: createDicomStore() });
  dicomwebBaseUrl = `${await dicom.listen({ port: 0, host: '127.0.0.1' })}/dicomweb`;
}, 60_000);
afterAll(async () => {
  await dicom.close();
});

const fixture = useFusionFixture({
  subscribe: false, // no notifications: the test scores each patient itself, at one asOf
  config: () => ({ DICOMWEB_BASE_URL: dicomwebBaseUrl, ACTIVE_MODELS: MODELS }),
});

describe('tensor cache through the pipeline (issue #26)', () => {
  it('every RiskAssessment written with the cache on carries the probabilities the pipeline computes with it off', async () => {
    const { runtime, fhirBaseUrl, client, pool } = fixture();
    const serving = runtime.serving;
    if (!serving) throw new Error('the fixture loaded no models');
    const now = new Date();
    const cohort = await loadCompleteCohort({
      fhirBaseUrl,
      dicomwebBaseUrl,
      patients: 4,
      seed: 2_626,
      imageSize: 128,
      now,
    });
    const off = pipelineStagesOf(runtime, { config: { ...runtime.config, TENSOR_CACHE_MAX_BYTES: 0 } });
    const on = serving.pipeline;
    let compared = 0;
    for (const patient of cohort) {
      const record = await on.assemble(patient.patientId, now);
      if (!record) throw new Error('patient not found in the sandbox');
      expect(Object.values(record.modalities).every((m) => m.status === 'present')).toBe(true);
      const expected = new Map<string, number[]>();
      for (const model of serving.models) {
        const without = await off.predict(record, model);
        const probabilities = without.output.predictions.map((p) => p.probability);
        expect(probabilities.length, model.manifest.name).toBeGreaterThan(0);
        // Cold and warm passes of the cached pipeline predict exactly what the uncached one does.
        for (let pass = 0; pass < 2; pass++) {
          const withCache = await on.predict(record, model);
          expect(withCache.output.predictions.map((p) => p.probability)).toEqual(probabilities);
          expect(withCache.basis).toEqual(without.basis);
          expect(withCache.missing).toEqual(without.missing);
        }
        expected.set(model.manifest.name, probabilities.map(roundProbability));
      }
      const score = await scorePatient(record, {
        predict: on.predict,
        write: on.write,
        locate: on.locate,
        db: pool,
        models: serving.models,
        traceId: `tensor-cache-${patient.patientId}`,
      });
      expect(score.written).toBe(serving.models.length);
      const written = await client.searchResources('RiskAssessment', {
        subject: `Patient/${patient.patientId}`,
      });
      expect(written).toHaveLength(serving.models.length);
      for (const ra of written as RiskAssessment[]) {
        const model = ra.method?.coding?.[0]?.code ?? '';
        expect(
          ra.prediction?.map((p) => p.probabilityDecimal),
          model,
        ).toEqual(expected.get(model));
        compared++;
      }
    }
    expect(compared).toBe(cohort.length * serving.models.length);
    // The cache was used: warm passes (and models sharing an input's settings) hit it.
    const lookups = await runtime.metrics.tensorCacheLookups.get();
    const hits = lookups.values.filter((v) => v.labels.result === 'hit').reduce((n, v) => n + v.value, 0);
    expect(hits).toBeGreaterThan(0);
  }, 300_000);
});
