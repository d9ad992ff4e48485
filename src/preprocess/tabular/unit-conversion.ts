import { createRequire } from 'node:module';

/** Converts a value between UCUM units; `undefined` when UCUM cannot convert them. */
export type UnitConverter = (
  value: number,
  fromUnit: string,
  toUnit: string,
  molecularWeight?: number,
) => number | undefined;

/** The slice of `@lhncbc/ucum-lhc`'s `UcumLhcUtils` this module calls (the package ships no types). */
interface UcumLhcUtils {
  convertUnitTo(
    fromUnitCode: string,
    fromVal: number,
    toUnitCode: string,
    options?: { molecularWeight?: number },
  ): { status: string; toVal: number | null };
}

/**
 * A {@link UnitConverter} backed by the UCUM reference implementation (`@lhncbc/ucum-lhc`), so that
 * conversions such as mmol/L → mg/dL (glucose) or umol/L → mg/dL (creatinine) go through UCUM's
 * mole ↔ mass rule with the feature's molecular weight rather than a hand-made factor table.
 * The package keeps its own singleton of the parsed UCUM tables; this only wraps it.
 */
export function createUcumConverter(): UnitConverter {
  const require = createRequire(import.meta.url);
  const ucum = require('@lhncbc/ucum-lhc') as { UcumLhcUtils: { getInstance(): UcumLhcUtils } };
  const utils = ucum.UcumLhcUtils.getInstance();
  return (value, fromUnit, toUnit, molecularWeight) => {
    if (fromUnit === toUnit) return value;
    try {
      const options = molecularWeight !== undefined ? { molecularWeight } : undefined;
      const result = utils.convertUnitTo(fromUnit, value, toUnit, options);
      if (result.status !== 'succeeded' || result.toVal === null || !Number.isFinite(result.toVal)) return undefined;
      return result.toVal;
    } catch {
      // ucum-lhc throws on some malformed unit strings; to the caller that is "cannot convert".
      return undefined;
    }
  };
}
