import type { OperationOutcome, Resource, RiskAssessment } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { loadFhirDefinitions } from '../../../src/sandbox/ehr/fhir-definitions.js';
import type { FhirDefinitions } from '../../../src/sandbox/ehr/fhir-definitions.js';
import { createSandboxEhr } from '../../../src/sandbox/ehr/sandbox-ehr.js';
import { ensureR4DefinitionsIndexed } from '../../../src/writeback/index-r4-definitions.js';
import { loadStructureDefinitions } from '../../../src/writeback/load-profiles.js';
import type { ProfileValidator } from '../../../src/writeback/validate-profiles.js';
import { createProfileValidator } from '../../../src/writeback/validate-profiles.js';
import { bundleResources, sampleResult } from './assessment-fixture.js';

/**
 * Issue #22 point 4: medplum's type index is global to the process and has one writer
 * (`ensureR4DefinitionsIndexed`). Validators and sandboxes created in any order, any number of
 * times, must see the same index: the same bundle validates the same way every time.
 */

/** A built bundle plus variants whose errors come from base R4, a profile and a profile extension. */
function resourcesUnderTest(): Resource[] {
  const resources = bundleResources(sampleResult(), { reference: 'RiskAssessment/earlier/_history/1' });
  const ra = resources.find((r): r is RiskAssessment => r.resourceType === 'RiskAssessment');
  if (!ra) throw new Error('no RiskAssessment in the bundle');
  // Breaks the modality-contribution extension's definition: an error only the extension profile finds.
  const brokenExtension = structuredClone(ra);
  const first = brokenExtension.extension?.[0];
  if (!first) throw new Error('expected extensions on the RiskAssessment');
  first.extension = (first.extension ?? []).filter((e) => e.url !== 'delta');
  // Only the FusionRiskAssessment profile requires a performer.
  const noPerformer = structuredClone(ra);
  delete noPerformer.performer;
  // Base R4 rejects a malformed dateTime.
  const badDate = structuredClone(ra);
  badDate.occurrenceDateTime = 'yesterday afternoon';
  return [...resources, brokenExtension, noPerformer, badDate];
}

type Created =
  { kind: 'validator'; validator: ProfileValidator } | { kind: 'sandbox'; definitions: FhirDefinitions };

/** What each resource validates to, as comparable JSON (undefined when valid). */
function outcomes(validate: (r: Resource) => OperationOutcome | undefined, resources: Resource[]): string[] {
  return resources.map((r) => JSON.stringify(validate(r) ?? null));
}

const ORDERS: ReadonlyArray<ReadonlyArray<'validator' | 'sandbox'>> = [
  ['validator', 'validator', 'sandbox'],
  ['validator', 'sandbox', 'validator'],
  ['sandbox', 'validator', 'validator'],
];

describe('the @medplum type index (one writer)', () => {
  it('two validators and a sandbox, created in any order, validate the same bundle the same way 1,000 times', async () => {
    const resources = resourcesUnderTest();
    const n = resources.length;
    // The profile files are read once, as a composition root does; every creation below still goes
    // through the index's one writer and its guard (reading the files is ~12 ms, the guard ~µs).
    const profiles = loadStructureDefinitions();
    // A real sandbox first (its factory indexes through the same owner), then validators.
    const sandbox = await createSandboxEhr();
    try {
      const firstProfile = createProfileValidator(ensureR4DefinitionsIndexed(profiles), { rememberValid: 0 });
      const expectedProfile = outcomes((r) => firstProfile.validate(r), resources);
      const expectedBase = outcomes((r) => loadFhirDefinitions(profiles).validate(r), resources);
      // The outcomes are the meaningful ones, not a uniform failure: the built resources are valid,
      // each broken variant fails where its rule lives (extension definition, profile, base R4).
      const profile = expectedProfile.map((s) => JSON.parse(s) as OperationOutcome | null);
      const paths = (o: OperationOutcome | null): string[] =>
        (o?.issue ?? []).flatMap((i) => i.expression ?? []);
      expect(profile.slice(0, n - 3).every((o) => o === null)).toBe(true);
      expect(paths(profile[n - 3]!).some((p) => p.startsWith('RiskAssessment.extension[0]'))).toBe(true);
      expect(paths(profile[n - 2]!)).toContain('RiskAssessment.performer');
      expect(paths(profile[n - 1]!)).toContain('RiskAssessment.occurrence');
      const base = expectedBase.map((s) => JSON.parse(s) as OperationOutcome | null);
      expect(base[n - 2]).toBeNull(); // base R4 does not require a performer
      expect(base[n - 1]).not.toBeNull();

      // 1,000 rounds: each creates the next validator or sandbox in a rotating order (every
      // creation goes through the index's owner) and validates one resource with it. Nine rounds in
      // ten validate the next resource of the built bundle, the tenth the next broken variant: a
      // RiskAssessment costs ~35 ms against its profile (half of it medplum parsing the extension
      // definitions on each call) and three of the seven resources are broken RiskAssessments, so
      // validating them as often as the bundle would triple the run for no other path through the
      // index. Every resource still meets both kinds of creator (checked at the end).
      const bundleSize = n - 3;
      const met = new Set<string>();
      for (let i = 0; i < 1000; i++) {
        const kind = ORDERS[Math.floor(i / 3) % ORDERS.length]![i % 3]!;
        const created: Created =
          kind === 'validator'
            ? {
                kind,
                validator: createProfileValidator(ensureR4DefinitionsIndexed(profiles), { rememberValid: 0 }),
              }
            : { kind, definitions: loadFhirDefinitions(profiles) };
        const index = i % 10 === 9 ? bundleSize + (Math.floor(i / 10) % 3) : i % bundleSize;
        const resource = resources[index]!;
        met.add(`${kind} ${index}`);
        if (created.kind === 'validator') {
          expect(JSON.stringify(created.validator.validate(resource) ?? null), `round ${i}`).toBe(
            expectedProfile[index],
          );
        } else {
          expect(JSON.stringify(created.definitions.validate(resource) ?? null), `round ${i}`).toBe(
            expectedBase[index],
          );
        }
      }
      expect(met.size).toBe(2 * n);
    } finally {
      await sandbox.close();
    }
  }, 600_000);
});
