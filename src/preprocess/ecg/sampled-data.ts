import type { SampledData } from '@medplum/fhirtypes';
import { fail, ok, type PreprocessResult } from '../result.js';

/** A parsed SampledData: one array per dimension, values in the origin's unit. */
export interface SampledSignal {
  /** One array per dimension (de-interleaved); `NaN` where the data said `E` or a limit was unknown. */
  channels: Float64Array[];
  /** Milliseconds between samples (SampledData.period). */
  periodMs: number;
  /** UCUM code (or unit text) of `origin`, if given. */
  unit?: string;
}

/**
 * Parses FHIR R4 SampledData (§2.24.0.17): each value is `origin.value + factor × data`; `E`
 * (error) becomes NaN, `L`/`U` (below/above detection limit) become `lowerLimit`/`upperLimit`
 * (already in the origin's unit) or NaN when the limit is absent; with `dimensions` > 1 the values
 * are interleaved (sample 0 of every dimension, then sample 1...). Never throws.
 */
export function parseSampledData(sd: SampledData | undefined, expression = 'valueSampledData'): PreprocessResult<SampledSignal> {
  if (!sd || typeof sd !== 'object') return fail('invalid-value', `${expression} missing`);
  const period = sd.period;
  if (typeof period !== 'number' || !(period > 0)) return fail('invalid-value', `${expression}.period must be a positive number`);
  const dims = sd.dimensions;
  if (typeof dims !== 'number' || !Number.isInteger(dims) || dims < 1) return fail('invalid-value', `${expression}.dimensions must be a positive integer`);
  const originValue = sd.origin?.value;
  if (typeof originValue !== 'number' || !Number.isFinite(originValue)) return fail('invalid-value', `${expression}.origin.value missing`);
  const factor = sd.factor ?? 1;
  if (typeof factor !== 'number' || !Number.isFinite(factor)) return fail('invalid-value', `${expression}.factor is not a number`);
  if (typeof sd.data !== 'string' || sd.data.trim() === '') return fail('none-in-window', `${expression}.data is empty`);
  const tokens = sd.data.trim().split(/\s+/);
  if (tokens.length % dims !== 0) return fail('invalid-value', `${expression}.data has ${tokens.length} values, not a multiple of dimensions ${dims}`);
  const samples = tokens.length / dims;
  const channels = Array.from({ length: dims }, () => new Float64Array(samples));
  const lower = typeof sd.lowerLimit === 'number' ? sd.lowerLimit : NaN;
  const upper = typeof sd.upperLimit === 'number' ? sd.upperLimit : NaN;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    let v: number;
    if (t === 'E') v = NaN;
    else if (t === 'L') v = lower;
    else if (t === 'U') v = upper;
    else {
      // FHIR decimal: optional sign, digits, optional fraction and exponent.
      if (!/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(t)) return fail('invalid-value', `${expression}.data value ${i} is not a decimal, E, L or U`);
      v = originValue + factor * Number(t);
    }
    channels[i % dims]![Math.floor(i / dims)] = v;
  }
  const unit = sd.origin?.code ?? sd.origin?.unit;
  return ok({ channels, periodMs: period, ...(unit ? { unit } : {}) });
}
