import {
  OperationOutcomeError,
  getDataType,
  isDataTypeLoaded,
  validateResource,
  validateTypedValue,
} from '@medplum/core';
import type { Extension, Resource, StructureDefinition } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { ensureR4DefinitionsIndexed, profileTypeName } from '../../../src/writeback/index-r4-definitions.js';
import { loadStructureDefinitions } from '../../../src/writeback/load-profiles.js';
import { bundleResources, sampleResult } from './assessment-fixture.js';

/**
 * The write-back validator reads each fhir-fusion profile's schema from the index under
 * `profileTypeName(url)` instead of passing the StructureDefinition, which medplum re-parses on
 * every call. The two must find exactly the same issues: checked on the resources a write-back
 * builds and on seeded random mutations of them (fields dropped, retyped, renamed, emptied).
 */

/** What a validation call gives, as comparable text (a thrown OperationOutcome included). */
function outcomeOf(validate: () => unknown): string {
  try {
    return JSON.stringify(validate());
  } catch (err) {
    return `thrown ${err instanceof OperationOutcomeError ? JSON.stringify(err.outcome) : String(err)}`;
  }
}

/** mulberry32, so a failure names a reproducible case. */
function seeded(seed: number): (n: number) => number {
  let state = seed >>> 0;
  return (n) => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) % n) as number;
  };
}

function mutate(value: unknown, random: (n: number) => number): unknown {
  if (Array.isArray(value)) {
    const items = value.map((v) => mutate(v, random));
    if (items.length > 0 && random(6) === 0) items.splice(random(items.length), 1);
    if (items.length > 0 && random(10) === 0) items.push(items[0]);
    return items;
  }
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value)) {
      if (key === 'resourceType') {
        out[key] = v;
        continue;
      }
      const roll = random(30);
      if (roll === 0) continue;
      else if (roll === 1) out[key] = 'junk';
      else if (roll === 2) out[key] = 42;
      else if (roll === 3) out[key] = { bogus: true };
      else if (roll === 4) out[`${key}X`] = v;
      else out[key] = mutate(v, random);
    }
    if (random(40) === 0) out.unexpected = 'x';
    return out;
  }
  if (typeof value === 'string' && random(25) === 0) return '';
  return value;
}

describe('fhir-fusion profiles indexed under their URL', () => {
  const profiles = loadStructureDefinitions();
  ensureR4DefinitionsIndexed(profiles);
  const byUrl = new Map(profiles.map((sd) => [sd.url, sd] as const));
  const profileOf = new Map(
    profiles.filter((sd) => sd.type !== 'Extension').map((sd) => [sd.type, sd] as const),
  );

  it('validate exactly as medplum does when given the StructureDefinition, valid or broken', () => {
    const built = bundleResources(sampleResult(), { reference: 'RiskAssessment/earlier/_history/1' });
    const random = seeded(20261204);
    let compared = 0;
    let withIssues = 0;
    for (let round = 0; round < 25; round++) {
      for (const original of built) {
        const resource = (round === 0 ? original : mutate(original, random)) as Resource;
        const profile = profileOf.get(resource.resourceType);
        if (!profile) continue;
        const cases: Array<[StructureDefinition, unknown, string]> = [
          [profile, resource, resource.resourceType],
        ];
        const extensions = (resource as { extension?: unknown }).extension;
        for (const extension of Array.isArray(extensions) ? (extensions as Extension[]) : []) {
          const definition =
            extension && typeof extension === 'object' ? byUrl.get(extension.url) : undefined;
          if (definition) cases.push([definition, extension, 'Extension']);
        }
        for (const [sd, value, type] of cases) {
          const given = outcomeOf(() =>
            type === 'Extension'
              ? validateTypedValue({ type, value }, { profile: sd })
              : validateResource(value as Resource, { profile: sd }),
          );
          const indexed = outcomeOf(() => validateTypedValue({ type: profileTypeName(sd.url), value }));
          expect(indexed, `${sd.url}, round ${round}`).toBe(given);
          compared++;
          if (given !== '[]') withIssues++;
        }
      }
    }
    // The comparison covered both outcomes, many times over.
    expect(compared).toBeGreaterThan(250);
    expect(withIssues).toBeGreaterThan(compared / 2);
    expect(compared - withIssues).toBeGreaterThan(10);
  });

  it('add one name per profile and leave every base R4 type as it was', () => {
    for (const sd of profiles) expect(isDataTypeLoaded(profileTypeName(sd.url))).toBe(true);
    // Base types keep the base definition: RiskAssessment is not the profile's version, nor its
    // backbone types.
    const base = getDataType('RiskAssessment');
    expect(base.url).toBe('http://hl7.org/fhir/StructureDefinition/RiskAssessment');
    expect(getDataType('RiskAssessmentPrediction')).toBe(
      base.innerTypes.find((t) => t.name === 'RiskAssessmentPrediction'),
    );
  });
});
