import type { Coding, Observation } from '@medplum/fhirtypes';
import type { UnusedInput } from '../../contracts/assessment-result.js';
import type { TabularSpec } from './preprocess-tabular.js';
import { LOINC_SYSTEM } from './observation-values.js';

function codings(obs: Observation): Coding[] {
  return [...(obs.code?.coding ?? []), ...(obs.component ?? []).flatMap((c) => c.code?.coding ?? [])];
}

/**
 * The Observations the model was given but has no feature for (issue #17: "labs the models don't
 * use are silently ignored; nothing says so"): none of their LOINC codes — of the Observation or
 * of a component — feeds a feature in `spec`. Grouped by the Observation's own code (LOINC first),
 * with a count; only codes and displays, never values. Observations matched to a feature whose
 * value was rejected (implausible, unit not convertible) are not listed here: the feature says so.
 */
export function unusedObservations(observations: readonly Observation[], spec: TabularSpec): UnusedInput[] {
  const used = new Set(spec.features.flatMap((f) => f.loinc));
  const byCode = new Map<string, UnusedInput>();
  for (const obs of observations) {
    if (obs?.resourceType !== 'Observation') continue;
    const all = codings(obs);
    if (all.some((c) => c.system === LOINC_SYSTEM && c.code !== undefined && used.has(c.code))) continue;
    const own = obs.code?.coding ?? [];
    const primary = own.find((c) => c.system === LOINC_SYSTEM && c.code) ?? own.find((c) => c.code);
    const code = primary?.code ?? 'uncoded';
    const key = `${primary?.system ?? ''}|${code}`;
    const entry = byCode.get(key);
    if (entry) entry.count++;
    else {
      const display = primary?.display ?? obs.code?.text;
      byCode.set(key, {
        code: { ...(primary?.system ? { system: primary.system } : {}), code, ...(display ? { display } : {}) },
        count: 1,
      });
    }
  }
  return [...byCode.values()].sort((a, b) => a.code.code.localeCompare(b.code.code));
}
