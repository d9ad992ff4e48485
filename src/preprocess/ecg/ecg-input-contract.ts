import type { EcgInputContract } from '../../contracts/manifest-types.js';
import { fail, ok, type PreprocessResult } from '../result.js';
import { deriveLimbLeads, normaliseLeadName, type EcgLeads } from './ecg-leads.js';

/**
 * Checks a recording against the model's ECG input contract before any filtering, on the values
 * as recorded (mV): every required lead recorded (limb leads III, aVR, aVL, aVF may be derived
 * from I and II — Einthoven/Goldberger are exact), at least `minDurationSeconds` long, and every
 * required lead physiologically plausible: not beyond ±`maxAbsMv` from its median (a surface ECG
 * is a few mV; 50 mV is a unit error or an amplifier fault), not clipped (more than
 * `maxSaturatedFraction` of samples pinned at the lead's own minimum or maximum, away from the
 * baseline) and not a flat
 * line (peak-to-peak below `minPeakToPeakMv`: a disconnected electrode). A 3-lead recording is not
 * a 12-lead one and zero rows are not a recording, so failures refuse the whole ECG with
 * `outside-input-contract`; details name leads and limits, never signal values.
 */
export function checkEcgContract(ecg: EcgLeads, contract: EcgInputContract): PreprocessResult<void> {
  const named: Record<string, Float64Array> = {};
  for (const [name, values] of Object.entries(ecg.leads)) named[normaliseLeadName(name) ?? name] ??= values;
  const recorded = Object.keys(named).length;
  const all = deriveLimbLeads(named);
  const required = contract.requiredLeads.map((l) => normaliseLeadName(l) ?? l);
  const absent = required.filter((l) => !all[l]);
  if (absent.length > 0) {
    return fail('outside-input-contract', `ECG not usable: ${recorded} lead(s) recorded, the model needs ${required.length}; missing ${absent.join(', ')}`);
  }
  const shortest = Math.min(...required.map((l) => all[l]!.length));
  if (!(ecg.sampleRateHz > 0) || shortest / ecg.sampleRateHz < contract.minDurationSeconds) {
    return fail('outside-input-contract', `ECG not usable: shorter than the ${contract.minDurationSeconds} s the model needs`);
  }
  for (const lead of required) {
    const problem = leadProblem(all[lead]!, contract);
    if (problem) return fail('outside-input-contract', `ECG not usable: lead ${lead} ${problem}`);
  }
  return ok(undefined);
}

function leadProblem(values: Float64Array, contract: EcgInputContract): string | undefined {
  const finite = Array.from(values).filter(Number.isFinite);
  if (finite.length === 0) return 'has no valid samples';
  const sorted = Float64Array.from(finite).sort();
  const median = sorted[Math.floor(sorted.length / 2)]!;
  const lo = sorted[0]!;
  const hi = sorted[sorted.length - 1]!;
  if (Math.max(hi - median, median - lo) > contract.maxAbsMv) return `exceeds the ±${contract.maxAbsMv} mV plausible range (unit error or amplifier fault)`;
  if (hi - lo < contract.minPeakToPeakMv) return `is a flat line (under ${contract.minPeakToPeakMv} mV peak to peak)`;
  // Clipping flattens the peaks, far from the baseline; a quiet baseline that happens to be the
  // lead's minimum (no S wave) is not clipping, so an extreme near the median does not count.
  const range = hi - lo;
  const countHi = hi - median > 0.25 * range;
  const countLo = median - lo > 0.25 * range;
  let pinned = 0;
  for (const v of finite) if ((countHi && v === hi) || (countLo && v === lo)) pinned++;
  if (pinned / finite.length > contract.maxSaturatedFraction) return `is saturated (${Math.round((100 * pinned) / finite.length)} % of samples at its limits)`;
  return undefined;
}
