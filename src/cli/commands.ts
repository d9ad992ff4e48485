import type { ParseArgsConfig } from 'node:util';
import { EXPORT_SCOPE_OPTIONS, parseExportScope } from './export-scope-options.js';
import { UsageError } from './usage-error.js';

/** Parsed arguments handed to a command. */
export interface CommandArgs {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/** One `fhir-fusion` sub-command. */
export interface Command {
  summary: string;
  options?: ParseArgsConfig['options'];
  /** The command parses its own arguments: `positionals` holds them unparsed. */
  rawArguments?: boolean;
  run(args: CommandArgs): Promise<number>;
}

/** A string option (parseArgs has no number type: each command converts and checks its values). */
function text(defaultValue?: string): { type: 'string'; default?: string } {
  return defaultValue === undefined ? { type: 'string' } : { type: 'string', default: defaultValue };
}

/**
 * The synthetic sandbox EHR's options, shared by `demo` (which starts it beside the server, as
 * `--ehr-port`) and `sandbox` (which starts it alone), so both start the same EHR by default.
 */
const SANDBOX_EHR = { patients: text('12'), seed: text('7'), port: text('8103') };

/** Every sub-command, loaded lazily. */
export const commands: Record<string, Command> = {
  serve: {
    summary: 'Start the server (configuration from the environment; see README). --role intake|worker|all',
    options: { role: text('all') },
    async run({ values }) {
      const role = String(values.role);
      if (role !== 'intake' && role !== 'worker' && role !== 'all') {
        throw new UsageError('--role must be intake, worker or all');
      }
      const { serveCommand } = await import('./serve-command.js');
      return serveCommand(role);
    },
  },
  backfill: {
    summary: 'First assessment for every patient of a FHIR Bulk Data $export (resumable).',
    options: {
      ...EXPORT_SCOPE_OPTIONS,
      type: text('Patient,Observation,DiagnosticReport,ImagingStudy'),
      'type-filter': { type: 'string', multiple: true },
      'batch-size': text('256'),
      concurrency: text('8'),
    },
    async run({ values }) {
      const scope = parseExportScope(values);
      if (!scope.ok) throw new UsageError(scope.message);
      const { backfillCommand } = await import('./backfill-command.js');
      const filters = values['type-filter'] as unknown;
      return backfillCommand({
        export: {
          ...scope.value,
          types: String(values.type).split(',').filter(Boolean),
          typeFilters: Array.isArray(filters) ? filters.map(String) : undefined,
        },
        batchSize: Number(values['batch-size']),
        concurrency: Number(values.concurrency),
      });
    },
  },
  validate: {
    summary: "Local validation on the EHR's past patients: score, label from later Conditions, report (no write-back).",
    options: {
      ...EXPORT_SCOPE_OPTIONS,
      outcomes: text(''),
      model: text(),
      'window-days': text('30'),
      'as-of': text(),
      out: text('validation-report'),
    },
    async run({ values }) {
      const scope = parseExportScope(values);
      if (!scope.ok) throw new UsageError(scope.message);
      const windowDays = Number(values['window-days']);
      if (!Number.isFinite(windowDays) || windowDays <= 0) {
        throw new UsageError('--window-days must be a positive number');
      }
      const asOf = typeof values['as-of'] === 'string' ? new Date(values['as-of']) : undefined;
      if (asOf && Number.isNaN(asOf.getTime())) {
        throw new UsageError('--as-of must be a date');
      }
      const { validateCommand } = await import('./validate-command.js');
      return validateCommand({
        export: scope.value,
        outcomes: String(values.outcomes).split(',').filter(Boolean),
        model: typeof values.model === 'string' ? values.model : undefined,
        windowDays,
        ...(asOf ? { asOf } : {}),
        out: String(values.out),
      });
    },
  },
  demo: {
    summary: 'Start embedded Postgres, the sandbox EHR with synthetic patients and the server; stream new data.',
    options: {
      patients: SANDBOX_EHR.patients,
      seed: SANDBOX_EHR.seed,
      port: text('8080'),
      'ehr-port': SANDBOX_EHR.port,
      interval: text('3000'),
      'stop-after': text(),
      feed: text('fhir'),
    },
    async run({ values }) {
      const { demoCommand } = await import('./demo-command.js');
      if (values.feed !== 'fhir' && values.feed !== 'hl7v2' && values.feed !== 'dimse') {
        throw new UsageError('--feed must be fhir, hl7v2 or dimse');
      }
      return demoCommand({
        patients: Number(values.patients),
        seed: Number(values.seed),
        port: Number(values.port),
        ehrPort: Number(values['ehr-port']),
        intervalMs: Number(values.interval),
        stopAfter: values['stop-after'] === undefined ? undefined : Number(values['stop-after']),
        feed: values.feed,
      });
    },
  },
  sandbox: {
    summary: 'Start only the sandbox EHR (FHIR + DICOMweb + SMART) with synthetic patients, for a server run elsewhere.',
    options: { host: text('127.0.0.1'), ...SANDBOX_EHR },
    async run({ values }) {
      const port = Number(values.port);
      const patients = Number(values.patients);
      if (!Number.isInteger(port) || port < 0 || port > 65535 || !Number.isInteger(patients) || patients < 1) {
        throw new UsageError('--port must be 0..65535 and --patients a positive integer');
      }
      const { sandboxCommand } = await import('./sandbox-command.js');
      return sandboxCommand({ host: String(values.host), port, patients, seed: Number(values.seed) });
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
  models: {
    summary: 'models list | verify | evaluate [--only NAME] — the model repository (MODELS_DIR).',
    rawArguments: true,
    async run({ positionals }) {
      const [action, ...rest] = positionals;
      if (action === 'evaluate') {
        const { runEvaluateCommand } = await import('../evaluation/evaluate-command.js');
        return runEvaluateCommand(rest);
      }
      const { modelsCommand } = await import('./models-command.js');
      return modelsCommand(action ?? 'list');
    },
  },
  cohort: {
    summary: 'cohort generate --patients N --seed S --out DIR | cohort load --dir DIR --fhir URL --dicomweb URL',
    rawArguments: true,
    async run({ positionals }) {
      const { cohortCommand } = await import('./cohort-command.js');
      return cohortCommand(positionals);
    },
  },
  jobs: {
    summary: 'jobs | jobs failed — notification inbox counts; dead-lettered jobs with their OperationOutcome.',
    async run({ positionals }) {
      const { jobsCommand } = await import('./jobs-command.js');
      return jobsCommand(positionals[0]);
    },
  },
};
