import type { Observation, SampledData } from '@medplum/fhirtypes';
import { fail, ok, type PreprocessResult } from '../result.js';
import { createUcumConverter, type UnitConverter } from '../tabular/unit-conversion.js';
import { leadFromConcept, type EcgLeads } from './ecg-leads.js';
import { parseSampledData } from './sampled-data.js';

/** Options for {@link ecgFromObservation}. */
export interface EcgObservationOptions {
  /** Unit converter for the SampledData origin unit → mV; defaults to UCUM. */
  convertUnit?: UnitConverter;
}

/**
 * Reads an ECG Observation into named leads in mV: each `component` whose code names a lead (MDC
 * MDC_ECG_ELEC_POTL_* such as 131329 = I, DICOM/SCP-ECG lead codes, or the text "Lead II") and
 * carries `valueSampledData` becomes that lead. The SampledData origin unit (UCUM, e.g. `uV`,
 * `mV`) is converted to mV. A SampledData without a unit on `origin` is refused, never guessed as
 * mV: the R4 specification's own ECG example (origin 2048, factor 1.612, no unit) would read as
 * thousands of millivolts. All leads must share one period.
 */
export function ecgFromObservation(obs: Observation, options: EcgObservationOptions = {}): PreprocessResult<EcgLeads> {
  if (!obs || obs.resourceType !== 'Observation') return fail('invalid-value', 'not an Observation');
  const convertUnit = options.convertUnit ?? createUcumConverter();
  const sources: Array<{ concept: Observation['code'] | undefined; sd: SampledData; expression: string }> = [];
  if (obs.valueSampledData) sources.push({ concept: obs.code, sd: obs.valueSampledData, expression: 'Observation.valueSampledData' });
  (obs.component ?? []).forEach((c, i) => {
    if (c.valueSampledData) sources.push({ concept: c.code, sd: c.valueSampledData, expression: `Observation.component[${i}].valueSampledData` });
  });
  if (sources.length === 0) return fail('none-in-window', 'Observation has no valueSampledData');
  const leads: Record<string, Float64Array> = {};
  let periodMs: number | undefined;
  for (const { concept, sd, expression } of sources) {
    const lead = leadFromConcept(concept);
    if (!lead) continue; // not a lead we know (e.g. a Frank lead): not an error
    const parsed = parseSampledData(sd, expression);
    if (!parsed.ok) return parsed;
    if (parsed.value.channels.length !== 1) return fail('unsupported-format', `${expression}.dimensions must be 1 for a named lead`);
    if (periodMs !== undefined && Math.abs(parsed.value.periodMs - periodMs) > 1e-9) return fail('invalid-value', `${expression}.period differs from the other leads`);
    periodMs = parsed.value.periodMs;
    // R4 §2.24.0.17: origin carries the unit of every value (value = origin + factor × data).
    if (parsed.value.unit === undefined) return fail('invalid-value', `ECG not usable: ${expression}.origin has no unit (code or unit), so the amplitude cannot be interpreted`);
    const scale = convertUnit(1, parsed.value.unit, 'mV');
    if (scale === undefined) return fail('invalid-value', `${expression}.origin unit is not a voltage`);
    const values = parsed.value.channels[0]!;
    if (scale !== 1) for (let k = 0; k < values.length; k++) values[k] = values[k]! * scale;
    leads[lead] = values;
  }
  if (periodMs === undefined) return fail('unsupported-format', 'no component is coded as a known ECG lead');
  return ok({ sampleRateHz: 1000 / periodMs, leads });
}
