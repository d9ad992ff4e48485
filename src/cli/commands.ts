import type { ParseArgsConfig } from 'node:util';

/** Parsed arguments handed to a command. */
export interface CommandArgs {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/** One `fhir-fusion` sub-command. */
export interface Command {
  summary: string;
  options?: ParseArgsConfig['options'];
  run(args: CommandArgs): Promise<number>;
}

/** Every sub-command, loaded lazily. */
export const commands: Record<string, Command> = {
  serve: {
    summary: 'Start the server (configuration from the environment; see README).',
    async run() {
      const { serveCommand } = await import('./serve-command.js');
      return serveCommand();
    },
  },
  demo: {
    summary: 'Start embedded Postgres, the sandbox EHR with synthetic patients and the server; stream new data.',
    options: {
      patients: { type: 'string', default: '12' },
      seed: { type: 'string', default: '7' },
      port: { type: 'string', default: '8080' },
      'ehr-port': { type: 'string', default: '8103' },
      interval: { type: 'string', default: '3000' },
      'stop-after': { type: 'string' },
    },
    async run({ values }) {
      const { demoCommand } = await import('./demo-command.js');
      return demoCommand({
        patients: Number(values.patients),
        seed: Number(values.seed),
        port: Number(values.port),
        ehrPort: Number(values['ehr-port']),
        intervalMs: Number(values.interval),
        stopAfter: values['stop-after'] === undefined ? undefined : Number(values['stop-after']),
      });
    },
  },
  migrate: {
    summary: 'Apply database migrations (also applied at start-up).',
    async run() {
      const { migrateCommand } = await import('./migrate-command.js');
      return migrateCommand();
    },
  },
  subscriptions: {
    summary: 'subscriptions sync | status — manage the Subscriptions fhir-fusion holds on the EHR.',
    async run({ positionals }) {
      const { subscriptionsCommand } = await import('./subscriptions-command.js');
      return subscriptionsCommand(positionals[0] ?? 'status');
    },
  },
};
