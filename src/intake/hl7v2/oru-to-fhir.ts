import { randomUUID } from 'node:crypto';
import type { Bundle, BundleEntry, DiagnosticReport, Observation } from '@medplum/fhirtypes';
import { FUSION_CANONICAL_BASE } from '../../contracts/fusion-terminology.js';
import { tokenQuery } from '../../writeback/naming-systems.js';
import type { OruMessage, OruResult } from './read-oru.js';

/**
 * Identifier system of the FHIR resources fhir-fusion writes for v2 results. The value is
 * `<message key>.<OBX occurrence>` (or `.report-<OBR occurrence>`), so a resent message — same
 * MSH-3, MSH-4, MSH-10 — matches what was already written (conditional create) instead of
 * duplicating it.
 */
export const HL7V2_RESULT_SYSTEM = `${FUSION_CANONICAL_BASE}/NamingSystem/hl7v2-result`;

const LABORATORY = {
  coding: [
    {
      system: 'http://terminology.hl7.org/CodeSystem/observation-category',
      code: 'laboratory',
      display: 'Laboratory',
    },
  ],
};

/**
 * The FHIR R4 transaction Bundle (§3.1.0.11) that writes an ORU^R01's results to the EHR: one
 * Observation per OBX with a value (NM → valueQuantity, ST/TX/FT → valueString, CE/CWE →
 * valueCodeableConcept, none → dataAbsentReason), and for each OBR with ED results a
 * DiagnosticReport whose `presentedForm` holds them (R4 Observation has no attachment value) and
 * whose `result` lists its OBR's Observations. Every entry is a conditional create
 * (`ifNoneExist` on its identifier, §3.1.0.8.1), so the Bundle can be sent again after a crash.
 * Mapping follows the HL7 v2-to-FHIR IG's OBX → Observation and OBR → DiagnosticReport tables
 * where they apply.
 */
export function oruTransaction(oru: OruMessage, patientId: string, messageKey: string): Bundle {
  const subject = { reference: `Patient/${patientId}` };
  const entries: BundleEntry[] = [];
  const fullUrls = new Map<OruResult, string>();
  const attachments = new Map<number, OruResult[]>();
  for (const result of oru.results) {
    if (result.value.kind === 'attachment') {
      attachments.set(result.order, [...(attachments.get(result.order) ?? []), result]);
      continue;
    }
    const identifier = { system: HL7V2_RESULT_SYSTEM, value: `${messageKey}.${result.occurrence}` };
    const observation: Observation = {
      resourceType: 'Observation',
      identifier: [identifier],
      status: result.status,
      category: [LABORATORY],
      code: result.code,
      subject,
      ...(result.effective ? { effectiveDateTime: result.effective } : {}),
    };
    const v = result.value;
    if (v.kind === 'quantity') observation.valueQuantity = v.quantity;
    else if (v.kind === 'string') observation.valueString = v.text;
    else if (v.kind === 'codeable') observation.valueCodeableConcept = v.concept;
    else
      observation.dataAbsentReason = {
        coding: [{ system: 'http://terminology.hl7.org/CodeSystem/data-absent-reason', code: 'unknown' }],
      };
    const fullUrl = `urn:uuid:${randomUUID()}`;
    fullUrls.set(result, fullUrl);
    entries.push(conditionalCreate(fullUrl, observation, identifier.value));
  }
  for (const [orderOccurrence, forms] of attachments) {
    const order = oru.orders.find((o) => o.occurrence === orderOccurrence);
    const identifier = { system: HL7V2_RESULT_SYSTEM, value: `${messageKey}.report-${orderOccurrence}` };
    const results = oru.results.filter((r) => r.order === orderOccurrence && fullUrls.has(r));
    const effective = order?.effective ?? forms[0]!.effective;
    const status = order?.status && order.status !== 'unknown' ? order.status : forms[0]!.status;
    const report: DiagnosticReport = {
      resourceType: 'DiagnosticReport',
      identifier: [identifier],
      status,
      code: order?.code.coding?.length || order?.code.text ? order.code : forms[0]!.code,
      subject,
      ...(effective ? { effectiveDateTime: effective } : {}),
      ...(results.length ? { result: results.map((r) => ({ reference: fullUrls.get(r)! })) } : {}),
      presentedForm: forms.map((f) => (f.value.kind === 'attachment' ? f.value.attachment : {})),
    };
    entries.push(conditionalCreate(`urn:uuid:${randomUUID()}`, report, identifier.value));
  }
  return { resourceType: 'Bundle', type: 'transaction', entry: entries };
}

function conditionalCreate(
  fullUrl: string,
  resource: Observation | DiagnosticReport,
  identifierValue: string,
): BundleEntry {
  return {
    fullUrl,
    resource,
    request: {
      method: 'POST',
      url: resource.resourceType,
      ifNoneExist: tokenQuery('identifier', HL7V2_RESULT_SYSTEM, identifierValue),
    },
  };
}
