/**
 * Write-back validation benchmark (issue #26): CPU ms per RiskAssessment bundle through the
 * process's profile validator, and how much of it is `@medplum/core` re-parsing each profile's
 * StructureDefinition (`validateResource`/`validateTypedValue` call `parseStructureDefinition` on
 * the `profile` option on every call; 4.5.2 and 5.2 alike take no pre-parsed schema). Each bundle
 * differs (patient, probabilities, trace id), as in production, so the valid-resource memory only
 * spares the Device and card. Run: `npm run bench -- validation [bundles]`. Printed, not asserted.
 */
import { availableParallelism, loadavg } from 'node:os';
import { parseStructureDefinition } from '@medplum/core';
import type { Extension, Resource } from '@medplum/fhirtypes';
import { PROFILE_URLS } from '../src/contracts/fusion-terminology.js';
import { ensureR4DefinitionsIndexed } from '../src/writeback/index-r4-definitions.js';
import { createProfileValidator } from '../src/writeback/validate-profiles.js';
import { bundleResources, sampleResult } from '../test/unit/writeback/assessment-fixture.js';

const bundles = Number(process.argv[2] ?? 200);
const typeIndex = ensureR4DefinitionsIndexed();
const validator = createProfileValidator(typeIndex);
const resourcesOf = (i: number): Resource[] =>
  bundleResources(
    sampleResult(`pat-${i}`, {
      traceId: `trace-${i}`,
      predictions: [
        { outcomeIndex: 0, probability: (i % 97) / 97, qualitativeRisk: 'moderate' },
        { outcomeIndex: 1, probability: 0.12, qualitativeRisk: 'low' },
        { outcomeIndex: 2, probability: 0.31, qualitativeRisk: 'moderate' },
      ],
    }),
  );

/** CPU ms of `fn`, averaged over `n` calls. */
function cpuMs(n: number, fn: (i: number) => void): number {
  const c0 = process.cpuUsage();
  for (let i = 0; i < n; i++) fn(i);
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000 / n;
}

const prepared = Array.from({ length: bundles * 2 }, (_, i) => resourcesOf(i));
cpuMs(bundles, (i) => prepared[i]?.forEach((r) => validator.validate(r))); // warm-up, and Device/card remembered
const perBundle = cpuMs(bundles, (i) => {
  for (const r of prepared[bundles + i] ?? [])
    if (validator.validate(r)) throw new Error('a built bundle is invalid');
});

// What one bundle's validation parses: the profile of each resource validated afresh (RiskAssessment,
// Provenance) and the definition of each fhir-fusion extension on it.
const sample = prepared[0] ?? [];
const defs = typeIndex.structureDefinitions;
const parsed = sample
  .filter((r) => r.resourceType === 'RiskAssessment' || r.resourceType === 'Provenance')
  .flatMap((r) => [
    (PROFILE_URLS as Record<string, string>)[r.resourceType] ?? '',
    ...((r as { extension?: Extension[] }).extension ?? []).map((e) => e.url),
  ])
  .map((url) => defs.get(url))
  .filter((sd) => sd !== undefined);
const parseMs = cpuMs(bundles, () => parsed.forEach((sd) => parseStructureDefinition(sd)));

console.log(
  `# write-back validation — ${new Date().toISOString().slice(0, 10)}, ${availableParallelism()} CPUs, load ${loadavg()[0]?.toFixed(2)}`,
);
console.log(`${bundles} distinct RiskAssessment bundles (tabular-risk@1 result; synthetic)\n`);
console.log('| | CPU ms per bundle |');
console.log('|---|---:|');
console.log(`| validation (all resources) | ${perBundle.toFixed(2)} |`);
console.log(
  `| of which re-parsing ${parsed.length} StructureDefinitions | ${parseMs.toFixed(2)} (${((100 * parseMs) / perBundle).toFixed(0)} %) |`,
);
