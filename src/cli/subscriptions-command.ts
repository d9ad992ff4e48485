import { openCliDatabase } from './open-cli-database.js';
import { loadConfig } from '../config/load-config.js';
import { createEhrClient } from '../fhir/ehr-client.js';
import { createEhrFetch } from '../fhir/ehr-fetch.js';
import { syncSubscriptions } from '../subscriptions/subscription-sync.js';
import { listSubscriptions } from '../store/subscriptions-repository.js';
import type { SubscriptionRow } from '../store/subscriptions-repository.js';

/** `fhir-fusion subscriptions sync|status`. */
export async function subscriptionsCommand(action: string): Promise<number> {
  if (action !== 'sync' && action !== 'status') {
    console.error('usage: fhir-fusion subscriptions sync|status');
    return 2;
  }
  const config = loadConfig(process.env);
  const { database } = await openCliDatabase(config);
  try {
    if (action === 'sync') {
      const outbound = createEhrFetch(config);
      const client = createEhrClient({ fhirBaseUrl: config.FHIR_BASE_URL, fetch: outbound.fetch });
      const results = await syncSubscriptions({
        client,
        pool: database.pool,
        publicUrl: config.PUBLIC_URL,
        mode: config.SUBSCRIPTION_MODE,
        fhirVersion: config.FHIR_VERSION,
        heartbeatSeconds: config.SUBSCRIPTION_HEARTBEAT_S,
      });
      for (const r of results) {
        const target = r.kind === 'polling' ? '(polling: _lastUpdated search)' : `Subscription/${r.ehrSubscription}`;
        console.log(`${r.key.padEnd(18)} ${r.kind.padEnd(20)} ${(r.release ?? '').padEnd(4)} ${r.action.padEnd(8)} ${target}`);
      }
    } else {
      const rows = await listSubscriptions(database.pool);
      if (rows.length === 0) console.log('no subscriptions; run `fhir-fusion subscriptions sync`');
      for (const line of formatSubscriptionStatus(rows)) console.log(line);
    }
    return 0;
  } finally {
    await database.close();
  }
}

/**
 * Lines of `fhir-fusion subscriptions status`: one per subscription with its kind, the EHR's
 * status (flagged `ALERT` when `error`/`off`), events since start, last event seen, gaps detected
 * and events recovered, last heartbeat, and the EHR's error text.
 */
export function formatSubscriptionStatus(rows: readonly SubscriptionRow[]): string[] {
  return rows.map((r) => {
    const alert = r.status === 'error' || r.status === 'off' ? 'ALERT ' : '';
    const heartbeat = r.last_heartbeat_at ? r.last_heartbeat_at.toISOString() : '—';
    return [
      `${r.key.padEnd(18)} ${r.kind.padEnd(18)} ${alert}${r.status.padEnd(10)} ${r.topic ?? r.criteria}`,
      `events since start: ${r.events_since_start ?? '—'}  last event: ${r.last_event_number ?? '—'}`,
      `gaps: ${r.gaps_detected}  recovered: ${r.events_recovered}  last heartbeat: ${heartbeat}`,
      ...(r.last_error ? [`error: ${r.last_error}`] : []),
    ].join('  ');
  });
}
