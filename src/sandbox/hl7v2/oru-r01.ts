import type { Identifier, Observation } from '@medplum/fhirtypes';
import { escapeHl7 } from '../../intake/hl7v2/hl7-escape.js';

/** What one sandbox ORU^R01 carries. */
export interface OruR01Input {
  /** MSH-10: unique per message of this sender. */
  controlId: string;
  /** The patient's identifier (PID-3): its system is sent as the assigning authority's URI. */
  patientIdentifier: Identifier;
  /** Observations with a LOINC code and a valueQuantity (the cohort's labs and vitals). */
  observations: Observation[];
  /** MSH-3 and MSH-4. */
  sendingApplication?: string;
  sendingFacility?: string;
  /** MSH-7 (default: now). */
  sentAt?: Date;
}

/** `YYYYMMDDHHMMSS+0000` (HL7 v2 DTM, UTC) of an ISO instant. */
export function hl7Dtm(iso: string | Date): string {
  const date = typeof iso === 'string' ? new Date(iso) : iso;
  return `${date.toISOString().replace(/[-:T]/g, '').slice(0, 14)}+0000`;
}

/**
 * Renders the sandbox cohort's results as an HL7 v2.5.1 `ORU^R01` (§7.3.1), as a lab system's
 * interface engine would send them: MSH, PID (PID-3 = identifier with assigning authority
 * `SANDBOX&<system>&URI`), one OBR, and one OBX per Observation (NM value, UCUM unit, LOINC code,
 * OBX-14 the effective time). Observations without a number are sent as ST. Segments end in CR.
 */
export function renderOruR01(input: OruR01Input): string {
  const e = (text: string): string => escapeHl7(text);
  const sentAt = input.sentAt ?? new Date();
  const identifier = input.patientIdentifier;
  const segments = [
    `MSH|^~\\&|${e(input.sendingApplication ?? 'SANDBOX-LAB')}|${e(input.sendingFacility ?? 'SANDBOX')}|FHIR-FUSION|SANDBOX|${hl7Dtm(sentAt)}||ORU^R01^ORU_R01|${e(input.controlId)}|P|2.5.1||||||UNICODE UTF-8`,
    `PID|1||${e(identifier.value ?? '')}^^^SANDBOX&${e(identifier.system ?? '')}&URI^MR`,
    `OBR|1|||26436-6^Laboratory studies^LN|||${hl7Dtm(sentAt)}||||||||||||||||F`,
  ];
  input.observations.forEach((o, i) => {
    const coding = o.code.coding?.find((c) => c.system === 'http://loinc.org') ?? o.code.coding?.[0];
    const code = `${e(coding?.code ?? '')}^${e(coding?.display ?? o.code.text ?? '')}^${coding?.system === 'http://loinc.org' ? 'LN' : ''}`;
    const when = o.effectiveDateTime ?? o.effectiveInstant ?? o.issued;
    const time = when ? hl7Dtm(when) : '';
    const q = o.valueQuantity;
    if (q?.value !== undefined) {
      const unit = q.code ?? q.unit ?? '';
      const system = q.system === 'http://unitsofmeasure.org' ? 'UCUM' : '';
      segments.push(
        `OBX|${i + 1}|NM|${code}||${q.value}|${e(unit)}^${e(q.unit ?? unit)}^${system}|||||F|||${time}`,
      );
    } else if (o.valueString !== undefined) {
      segments.push(`OBX|${i + 1}|ST|${code}||${e(o.valueString)}||||||F|||${time}`);
    }
  });
  return segments.join('\r');
}
