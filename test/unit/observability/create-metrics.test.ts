import { describe, expect, it } from 'vitest';
import { register as globalRegistry } from 'prom-client';
import { createMetrics } from '../../../src/observability/create-metrics.js';

describe('createMetrics', () => {
  it('creates every family up front on a registry of its own', async () => {
    const metrics = createMetrics();
    const text = await metrics.registry.metrics();
    for (const name of [
      'fhir_fusion_notifications_received_total',
      'fhir_fusion_notifications_accepted_total',
      'fhir_fusion_notifications_redelivered_total',
      'fhir_fusion_notifications_rejected_total',
      'fhir_fusion_inbox_depth',
      'fhir_fusion_jobs_total',
      'fhir_fusion_stage_seconds',
      'fhir_fusion_fhir_round_trips_per_patient',
      'fhir_fusion_execution_provider',
      'fhir_fusion_writebacks_total',
      'fhir_fusion_dead_letters_total',
      'fhir_fusion_missed_event_recoveries_total',
      'fhir_fusion_cds_feedback_total',
      'fhir_fusion_process_cpu_seconds_total',
    ]) {
      expect(text).toContain(`# TYPE ${name} `);
    }
    expect(await globalRegistry.metrics()).not.toContain('fhir_fusion_');
  });

  it('keeps instances independent and records labelled values', async () => {
    const first = createMetrics();
    const second = createMetrics();
    first.notificationsReceived.inc({ dialect: 'r4-backport' });
    first.notificationsReceived.inc({ dialect: 'r4-backport' });
    first.writebacks.inc({ outcome: 'created' });
    first.stageSeconds.observe({ stage: 'inference' }, 0.02);
    first.executionProvider.set({ model: 'fusion-risk@1.0.0', provider: 'cpu' }, 1);
    const text = await first.registry.metrics();
    expect(text).toContain('fhir_fusion_notifications_received_total{dialect="r4-backport"} 2');
    expect(text).toContain('fhir_fusion_writebacks_total{outcome="created"} 1');
    expect(text).toContain('fhir_fusion_stage_seconds_bucket{le="0.025",stage="inference"} 1');
    expect(text).toContain('fhir_fusion_execution_provider{model="fusion-risk@1.0.0",provider="cpu"} 1');
    expect(await second.registry.metrics()).not.toContain('dialect="r4-backport"');
  });
});
