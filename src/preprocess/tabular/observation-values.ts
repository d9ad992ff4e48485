import type { Observation, Quantity } from '@medplum/fhirtypes';
import type { VersionedReference } from '../../contracts/patient-record.js';

/** LOINC's code system URI (FHIR R4 terminology: http://loinc.org). */
export const LOINC_SYSTEM = 'http://loinc.org';
/** UCUM's code system URI; `Quantity.code` is a UCUM code only when `Quantity.system` is this. */
export const UCUM_SYSTEM = 'http://unitsofmeasure.org';

/**
 * Observation statuses whose values may be used. FHIR R4 §2.42 ObservationStatus: `preliminary`
 * may still change, `cancelled`/`entered-in-error` must never be used, `registered` has no value.
 */
const USABLE_STATUSES = new Set(['final', 'amended', 'corrected']);

/** One numeric value found in an Observation, before unit conversion. */
export interface ObservedValue {
  loinc: string;
  value: number;
  /** UCUM code (from `Quantity.code`) or, failing that, the human-readable `Quantity.unit`. */
  unit: string;
  /** Milliseconds since the epoch: when the value was clinically relevant. */
  time: number;
  source: VersionedReference;
}

/** The clinically relevant time of an Observation: effective[x], else `issued` (FHIR R4 Observation.effective[x]). */
export function observationTime(obs: Observation): number | undefined {
  const candidates = [obs.effectiveDateTime, obs.effectiveInstant, obs.effectivePeriod?.end, obs.effectivePeriod?.start, obs.issued];
  for (const c of candidates) {
    if (typeof c === 'string') {
      const t = Date.parse(c);
      if (Number.isFinite(t)) return t;
    }
  }
  return undefined;
}

function loincCodes(code: Observation['code'] | undefined): string[] {
  return (code?.coding ?? []).filter((c) => c.system === LOINC_SYSTEM && typeof c.code === 'string').map((c) => c.code as string);
}

function quantityUnit(q: Quantity): string | undefined {
  if (q.system === UCUM_SYSTEM && q.code) return q.code;
  return q.code ?? q.unit;
}

function fromQuantity(codes: string[], q: Quantity | undefined, time: number, source: VersionedReference, out: ObservedValue[]): void {
  if (!q || typeof q.value !== 'number' || !Number.isFinite(q.value)) return;
  // FHIR R4 Quantity.comparator: "<5" is not the value 5; such values are not used as numbers.
  if (q.comparator) return;
  const unit = quantityUnit(q);
  if (unit === undefined) return;
  for (const loinc of codes) out.push({ loinc, value: q.value, unit, time, source });
}

/**
 * Every usable numeric value in the Observations, keyed by LOINC code: `valueQuantity` of the
 * Observation itself and of each `component` (FHIR R4 §2.42 Observation.component — e.g. the blood
 * pressure panel 85354-9 carries systolic 8480-6 and diastolic 8462-4 as components). Observations
 * whose status is not final/amended/corrected, or that have no time, are skipped.
 */
export function collectObservedValues(observations: readonly Observation[]): ObservedValue[] {
  const out: ObservedValue[] = [];
  for (const obs of observations) {
    if (!obs || obs.resourceType !== 'Observation' || !USABLE_STATUSES.has(obs.status ?? '')) continue;
    const time = observationTime(obs);
    if (time === undefined) continue;
    const source: VersionedReference = { resourceType: 'Observation', id: obs.id ?? '' };
    if (obs.meta?.versionId) source.versionId = obs.meta.versionId;
    fromQuantity(loincCodes(obs.code), obs.valueQuantity, time, source, out);
    for (const component of obs.component ?? []) {
      fromQuantity(loincCodes(component.code), component.valueQuantity, time, source, out);
    }
  }
  return out;
}
