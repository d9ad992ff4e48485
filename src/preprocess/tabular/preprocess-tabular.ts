import type { Observation, Patient } from '@medplum/fhirtypes';
import type { VersionedReference } from '../../contracts/patient-record.js';
import type { ModalityPreprocessing, TabularFeatureSpec } from '../../contracts/manifest-types.js';
import { aggregateValues, type TimedValue } from './aggregate.js';
import { collectObservedValues, type ObservedValue } from './observation-values.js';
import { createUcumConverter, type UnitConverter } from './unit-conversion.js';

/** The manifest's tabular preprocessing section. */
export type TabularSpec = NonNullable<ModalityPreprocessing['tabular']>;

/** One feature's outcome, for explanations and the RiskAssessment basis. */
export interface TabularFeature {
  name: string;
  /** Aggregated value in `unit`, before normalisation; absent when the feature is not present. */
  value?: number;
  unit: string;
  present: boolean;
  /** Why values were discarded (implausible, unconvertible unit); never contains the values. */
  rejected?: string;
  /** Resource versions that contributed an accepted value. */
  sources: VersionedReference[];
}

/** Model-ready tabular input: normalised values, a presence mask and per-feature detail. */
export interface TabularResult {
  /** `(value - mean) / std` per feature in manifest order; 0 where absent. */
  values: Float32Array;
  /** 1 where the feature is present, 0 where absent. */
  mask: Float32Array;
  features: TabularFeature[];
}

/** Options for {@link preprocessTabular}. */
export interface TabularOptions {
  /** Unit converter; defaults to UCUM (`@lhncbc/ucum-lhc`). Pass one in to share it. */
  convertUnit?: UnitConverter;
}

const MS_PER_HOUR = 3_600_000;
const MS_PER_YEAR = 365.2425 * 24 * MS_PER_HOUR;

function patientReference(patient: Patient): VersionedReference[] {
  if (!patient.id) return [];
  const ref: VersionedReference = { resourceType: 'Patient', id: patient.id };
  if (patient.meta?.versionId) ref.versionId = patient.meta.versionId;
  return [ref];
}

function ageYears(patient: Patient, asOf: Date): number | undefined {
  // FHIR R4 date: YYYY, YYYY-MM or YYYY-MM-DD; a partial date is taken at its first day.
  const birth = patient.birthDate;
  if (typeof birth !== 'string' || !/^\d{4}(-\d{2}(-\d{2})?)?$/.test(birth)) return undefined;
  const t = Date.parse(birth.length === 4 ? `${birth}-01-01` : birth.length === 7 ? `${birth}-01` : birth);
  if (!Number.isFinite(t) || t > asOf.getTime()) return undefined;
  return (asOf.getTime() - t) / MS_PER_YEAR;
}

function sexValue(patient: Patient): number | undefined {
  // FHIR R4 AdministrativeGender: only female/male map to the model's binary input.
  if (patient.gender === 'female') return 1;
  if (patient.gender === 'male') return 0;
  return undefined;
}

function featureFromPatient(spec: TabularFeatureSpec, patient: Patient, asOf: Date): TabularFeature {
  const value = spec.source === 'age' ? ageYears(patient, asOf) : sexValue(patient);
  const base = { name: spec.name, unit: spec.unit, sources: patientReference(patient) };
  if (value === undefined) return { ...base, present: false, sources: [] };
  if (value < spec.plausible.min || value > spec.plausible.max) {
    return { ...base, present: false, sources: [], rejected: `outside plausible range [${spec.plausible.min}, ${spec.plausible.max}] ${spec.unit}` };
  }
  return { ...base, value, present: true };
}

function featureFromObservations(
  spec: TabularFeatureSpec,
  values: readonly ObservedValue[],
  windowStart: number,
  windowEnd: number,
  convertUnit: UnitConverter,
): TabularFeature {
  const codes = new Set(spec.loinc);
  const accepted: TimedValue[] = [];
  const sources = new Map<string, VersionedReference>();
  let implausible = 0;
  const badUnits = new Set<string>();
  for (const v of values) {
    if (!codes.has(v.loinc) || v.time <= windowStart || v.time > windowEnd) continue;
    const converted = convertUnit(v.value, v.unit, spec.unit, spec.molecularWeight);
    if (converted === undefined) {
      badUnits.add(v.unit);
      continue;
    }
    if (converted < spec.plausible.min || converted > spec.plausible.max) {
      implausible++;
      continue;
    }
    accepted.push({ time: v.time, value: converted });
    sources.set(`${v.source.id}/${v.source.versionId ?? ''}`, v.source);
  }
  const reasons: string[] = [];
  if (implausible > 0) reasons.push(`${implausible} value(s) outside plausible range [${spec.plausible.min}, ${spec.plausible.max}] ${spec.unit}`);
  if (badUnits.size > 0) reasons.push(`unit(s) ${[...badUnits].map((u) => `'${u}'`).join(', ')} not convertible to '${spec.unit}'`);
  const value = aggregateValues(accepted, spec.aggregate);
  const feature: TabularFeature = { name: spec.name, unit: spec.unit, present: value !== undefined, sources: value !== undefined ? [...sources.values()] : [] };
  if (value !== undefined) feature.value = value;
  if (reasons.length > 0) feature.rejected = reasons.join('; ');
  return feature;
}

/**
 * Turns a patient's Observations into the model's tabular input, as the manifest describes:
 * LOINC code → feature; values from `valueQuantity` and `component[].valueQuantity`; only
 * final/amended/corrected results whose time lies in `(asOf - lookbackHours, asOf]`; units
 * converted to the feature's UCUM unit by UCUM itself; implausible values rejected with a reason;
 * aggregated (last/min/max/mean/trend), then normalised with the manifest's mean and std.
 * `age` and `sex` features come from the Patient. Never throws on bad input.
 */
export function preprocessTabular(
  observations: readonly Observation[],
  patient: Patient,
  spec: TabularSpec,
  asOf: Date,
  options: TabularOptions = {},
): TabularResult {
  const convertUnit = options.convertUnit ?? createUcumConverter();
  const windowEnd = asOf.getTime();
  const windowStart = windowEnd - spec.lookbackHours * MS_PER_HOUR;
  const observed = collectObservedValues(observations);
  const n = spec.features.length;
  const values = new Float32Array(n);
  const mask = new Float32Array(n);
  const features = spec.features.map((featureSpec, i) => {
    const feature =
      featureSpec.source === 'age' || featureSpec.source === 'sex'
        ? featureFromPatient(featureSpec, patient, asOf)
        : featureFromObservations(featureSpec, observed, windowStart, windowEnd, convertUnit);
    if (feature.present && feature.value !== undefined) {
      const std = featureSpec.std > 0 ? featureSpec.std : 1;
      values[i] = (feature.value - featureSpec.mean) / std;
      mask[i] = 1;
    }
    return feature;
  });
  return { values, mask, features };
}
