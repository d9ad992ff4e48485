import type { ParseArgsConfig } from 'node:util';
import type { ExportParameters } from '../backfill/bulk-data-client.js';
import { err, ok, type Result } from '../contracts/result.js';

/** Which patients a Bulk Data export covers: its level, the Group at group level, and `_since`. */
export type ExportScope = Pick<ExportParameters, 'level' | 'groupId' | 'since'>;

/**
 * `--level system|patient|group`, `--group ID`, `--since INSTANT`: the export scope of the
 * commands that read the EHR through a FHIR Bulk Data `$export` (`backfill`, `validate`), declared
 * once so both accept the same words with the same default (patient level).
 */
export const EXPORT_SCOPE_OPTIONS = {
  level: { type: 'string', default: 'patient' },
  group: { type: 'string' },
  since: { type: 'string' },
} as const satisfies ParseArgsConfig['options'];

/**
 * The scope from parsed options, or the message to print. A group-level export names its Group
 * (Bulk Data 2.0 §"Group kick-off": `[base]/Group/[id]/$export`), so `--level group` needs `--group`.
 */
export function parseExportScope(
  values: Readonly<Record<string, string | boolean | undefined>>,
): Result<ExportScope, { message: string }> {
  const level = String(values.level);
  if (level !== 'system' && level !== 'patient' && level !== 'group') {
    return err({ message: '--level must be system, patient or group' });
  }
  if (level === 'group' && typeof values.group !== 'string') {
    return err({ message: '--group ID is required with --level group' });
  }
  return ok({
    level,
    groupId: typeof values.group === 'string' ? values.group : undefined,
    since: typeof values.since === 'string' ? values.since : undefined,
  });
}
