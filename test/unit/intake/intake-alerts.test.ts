import { Writable } from 'node:stream';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createIntakeAlerts } from '../../../src/intake/intake-alerts.js';
import { createLogger } from '../../../src/observability/create-logger.js';
import type { SubscriptionRow } from '../../../src/store/subscriptions-repository.js';

describe('intake alerts', () => {
  it('log the subscription error as one string, not one JSON field per character (issue 18.6)', () => {
    const chunks: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        chunks.push(chunk.toString('utf8'));
        callback();
      },
    });
    const alerts = createIntakeAlerts(new Registry(), createLogger({ level: 'info', destination }));
    const error = 'http://terminology.hl7.org/CodeSystem/subscription-error|timeout';
    alerts.subscriptionState({ key: 'observation-topic', status: 'error', last_error: error } as SubscriptionRow);
    const line = JSON.parse(chunks.join('').trim()) as Record<string, unknown>;
    expect(line.error).toBe(error);
    expect(line.subscription).toBe('observation-topic');
  });
});
