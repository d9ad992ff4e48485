import { openCliDatabase } from './open-cli-database.js';
import { loadConfig } from '../config/load-config.js';
import { inboxCounts } from '../store/inbox-repository.js';
import { deadLetterCount, recentDeadLetters } from '../store/ledger-repository.js';

/**
 * `fhir-fusion jobs` (inbox counts by status) and `fhir-fusion jobs failed` (the dead-letter table:
 * jobs the EHR refused with a 4xx or that ran out of retries, with their OperationOutcome). Prints
 * job ids, queues and outcomes — no patient data.
 */
export async function jobsCommand(action: string | undefined): Promise<number> {
  const config = loadConfig({ FHIR_BASE_URL: 'http://unused.invalid/fhir', ...process.env });
  const { database } = await openCliDatabase(config, 'error');
  try {
    if (action === 'failed') {
      const rows = await recentDeadLetters(database.pool, 100);
      if (rows.length === 0) console.log('no failed jobs');
      for (const r of rows) {
        const issue = r.reason.issue?.[0];
        console.log(`${r.failed_at.toISOString()}  ${r.queue}  ${r.job_id}  ${issue?.code ?? ''}: ${issue?.diagnostics ?? ''}`);
      }
      return 0;
    }
    const counts = await inboxCounts(database.pool);
    for (const [status, n] of Object.entries(counts)) console.log(`${status.padEnd(10)} ${n}`);
    console.log(`${'dead'.padEnd(10)} ${await deadLetterCount(database.pool)}`);
    return 0;
  } finally {
    await database.close();
  }
}
