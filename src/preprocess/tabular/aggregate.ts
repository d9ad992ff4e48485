import type { TabularFeatureSpec } from '../../contracts/manifest-types.js';

/** A converted, plausible value with its time (ms since epoch). */
export interface TimedValue {
  time: number;
  value: number;
}

const MS_PER_HOUR = 3_600_000;

/**
 * Summarises the values in the look-back window as the manifest asks. `trend` is the ordinary
 * least-squares slope in unit per hour and needs at least two distinct times; otherwise the
 * result is `undefined` (the feature is then absent, not zero).
 */
export function aggregateValues(values: readonly TimedValue[], aggregate: TabularFeatureSpec['aggregate']): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a.time - b.time);
  switch (aggregate) {
    case 'last':
      return sorted[sorted.length - 1]!.value;
    case 'min':
      return Math.min(...sorted.map((v) => v.value));
    case 'max':
      return Math.max(...sorted.map((v) => v.value));
    case 'mean':
      return sorted.reduce((s, v) => s + v.value, 0) / sorted.length;
    case 'trend': {
      const t0 = sorted[0]!.time;
      const xs = sorted.map((v) => (v.time - t0) / MS_PER_HOUR);
      const n = xs.length;
      const mx = xs.reduce((s, x) => s + x, 0) / n;
      const my = sorted.reduce((s, v) => s + v.value, 0) / n;
      let sxx = 0;
      let sxy = 0;
      for (let i = 0; i < n; i++) {
        sxx += (xs[i]! - mx) ** 2;
        sxy += (xs[i]! - mx) * (sorted[i]!.value - my);
      }
      return sxx > 0 ? sxy / sxx : undefined;
    }
  }
}
