import type { Observation, ObservationComponent } from '@medplum/fhirtypes';
import type { EcgLeadName, EcgRecording } from './ecg-signal.js';
import { ecgLeadNames } from './ecg-signal.js';

/** MDC (ISO/IEEE 11073-10101) code system OID as FHIR writes it. */
export const mdcSystem = 'urn:oid:2.16.840.1.113883.6.24';

/** MDC_ECG_LEAD_* codes (ISO/IEEE 11073-10101, partition 2: 131328 + lead number). */
export const mdcLeadCodes: Record<EcgLeadName, { code: string; display: string }> = {
  I: { code: '131329', display: 'MDC_ECG_LEAD_I' },
  II: { code: '131330', display: 'MDC_ECG_LEAD_II' },
  III: { code: '131389', display: 'MDC_ECG_LEAD_III' },
  aVR: { code: '131390', display: 'MDC_ECG_LEAD_AVR' },
  aVL: { code: '131391', display: 'MDC_ECG_LEAD_AVL' },
  aVF: { code: '131392', display: 'MDC_ECG_LEAD_AVF' },
  V1: { code: '131331', display: 'MDC_ECG_LEAD_V1' },
  V2: { code: '131332', display: 'MDC_ECG_LEAD_V2' },
  V3: { code: '131333', display: 'MDC_ECG_LEAD_V3' },
  V4: { code: '131334', display: 'MDC_ECG_LEAD_V4' },
  V5: { code: '131335', display: 'MDC_ECG_LEAD_V5' },
  V6: { code: '131336', display: 'MDC_ECG_LEAD_V6' },
};

/** Where the ECG Observation sits. */
export interface EcgObservationContext {
  id: string;
  patientId: string;
  encounterId: string;
  effective: Date;
}

/**
 * The ECG as a FHIR Observation in the style of the FHIR R4 "ekg" example: LOINC 11524-6 with
 * MDC_ECG_ELEC_POTL, one component per lead coded with MDC lead codes, each carrying
 * `valueSampledData` (FHIR R4 §2.24.0.13 SampledData): origin 0 mV, period 2 ms at 500 Hz,
 * factor 0.001 (integers are microvolts), dimensions 1, space-separated integers.
 */
export function ecgObservation(ecg: EcgRecording, ctx: EcgObservationContext): Observation {
  const periodMs = 1000 / ecg.sampleRateHz;
  const component: ObservationComponent[] = ecgLeadNames.map((lead, i) => ({
    code: {
      coding: [{ system: mdcSystem, code: mdcLeadCodes[lead].code, display: mdcLeadCodes[lead].display }],
      text: `Lead ${lead}`,
    },
    valueSampledData: {
      origin: { value: 0, unit: 'mV', system: 'http://unitsofmeasure.org', code: 'mV' },
      period: periodMs,
      factor: 0.001,
      lowerLimit: -32.768,
      upperLimit: 32.767,
      dimensions: 1,
      data: Array.prototype.join.call(ecg.leadsMicrovolts[i] as Int16Array, ' '),
    },
  }));
  return {
    resourceType: 'Observation',
    id: ctx.id,
    status: 'final',
    category: [
      {
        coding: [
          {
            system: 'http://terminology.hl7.org/CodeSystem/observation-category',
            code: 'procedure',
            display: 'Procedure',
          },
        ],
      },
    ],
    code: {
      coding: [
        { system: 'http://loinc.org', code: '11524-6', display: 'EKG study' },
        { system: mdcSystem, code: '131328', display: 'MDC_ECG_ELEC_POTL' },
      ],
      text: 'Resting 12-lead ECG',
    },
    subject: { reference: `Patient/${ctx.patientId}` },
    encounter: { reference: `Encounter/${ctx.encounterId}` },
    effectiveDateTime: ctx.effective.toISOString(),
    device: { display: 'fhir-fusion synthetic 12-lead electrocardiograph' },
    component,
  };
}
