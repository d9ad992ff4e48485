import type { CodeableConcept } from '@medplum/fhirtypes';

/** The twelve standard leads, in the conventional order. */
export const STANDARD_LEADS = ['I', 'II', 'III', 'aVR', 'aVL', 'aVF', 'V1', 'V2', 'V3', 'V4', 'V5', 'V6'] as const;

/** Named ECG leads in millivolts at one sample rate, as read from FHIR or DICOM. */
export interface EcgLeads {
  sampleRateHz: number;
  /** Lead name (`I`, `II`, ..., `V6`, or the source's own name for non-standard leads) → mV. */
  leads: Record<string, Float64Array>;
}

/** MDC code system URI as FHIR uses it (ISO/IEEE 11073-10101). */
export const MDC_SYSTEM = 'urn:oid:2.16.840.1.113883.6.24';

/**
 * ISO/IEEE 11073-10102 (annotated ECG) lead term codes: MDC_ECG_LEAD_I = 1 ... V6 = 8, III = 61,
 * aVR = 62, aVL = 63, aVF = 64. DICOM CID 3001 writes them as `2:<term>` (scheme MDC) and
 * SCP-ECG as `5.6.3-9-<term>`; FHIR uses the context-free MDC_ECG_ELEC_POTL_* codes, which are
 * 2 × 65536 + 256 + term (131329 = lead I).
 */
const LEAD_TERMS: Record<number, (typeof STANDARD_LEADS)[number]> = {
  1: 'I', 2: 'II', 3: 'V1', 4: 'V2', 5: 'V3', 6: 'V4', 7: 'V5', 8: 'V6', 61: 'III', 62: 'aVR', 63: 'aVL', 64: 'aVF',
};

/** Lead name from free text (`Lead II`, `ii`, `AVR`, `MDC_ECG_LEAD_AVR`, `V1`). */
export function normaliseLeadName(text: string): string | undefined {
  const t = text.trim().toUpperCase().replace(/^(MDC_ECG_(LEAD|ELEC_POTL)_|LEAD\s*)/, '').replace(/\s+/g, '');
  const map: Record<string, string> = { I: 'I', II: 'II', III: 'III', AVR: 'aVR', AVL: 'aVL', AVF: 'aVF' };
  if (map[t]) return map[t];
  const v = /^V([1-6])$/.exec(t);
  return v ? `V${v[1]}` : undefined;
}

/** Lead name from an MDC, DICOM-MDC or SCP-ECG lead code. */
export function leadFromCode(system: string | undefined, code: string | undefined): string | undefined {
  if (!code) return undefined;
  const c = code.trim();
  const numeric = /^\d+$/.test(c) ? Number(c) : undefined;
  if ((system === MDC_SYSTEM || system === 'MDC') && numeric !== undefined) {
    const term = numeric >= 131072 + 256 ? numeric - 131072 - 256 : numeric >= 131072 ? numeric - 131072 : numeric;
    return LEAD_TERMS[term];
  }
  const dicomMdc = /^2:(\d+)$/.exec(c);
  if (dicomMdc) return LEAD_TERMS[Number(dicomMdc[1])];
  const scp = /^5\.6\.3-9-(\d+)$/.exec(c);
  if (scp) return LEAD_TERMS[Number(scp[1])];
  return undefined;
}

/** Lead name from a FHIR CodeableConcept: codes first, then display and text. */
export function leadFromConcept(concept: CodeableConcept | undefined): string | undefined {
  for (const coding of concept?.coding ?? []) {
    const lead = leadFromCode(coding.system, coding.code);
    if (lead) return lead;
  }
  for (const coding of concept?.coding ?? []) {
    const lead = coding.display ? normaliseLeadName(coding.display) : undefined;
    if (lead) return lead;
  }
  return concept?.text ? normaliseLeadName(concept.text) : undefined;
}

/**
 * Adds the limb leads that follow from I and II by Einthoven's and Goldberger's relations when
 * missing: III = II − I, aVR = −(I + II)/2, aVL = I − II/2, aVF = II − I/2.
 */
export function deriveLimbLeads(leads: Record<string, Float64Array>): Record<string, Float64Array> {
  const out = { ...leads };
  const i = leads.I;
  const ii = leads.II;
  if (!i || !ii) return out;
  const n = Math.min(i.length, ii.length);
  const derive = (f: (a: number, b: number) => number) => {
    const d = new Float64Array(n);
    for (let k = 0; k < n; k++) d[k] = f(i[k]!, ii[k]!);
    return d;
  };
  out.III ??= derive((a, b) => b - a);
  out.aVR ??= derive((a, b) => -(a + b) / 2);
  out.aVL ??= derive((a, b) => a - b / 2);
  out.aVF ??= derive((a, b) => b - a / 2);
  return out;
}
