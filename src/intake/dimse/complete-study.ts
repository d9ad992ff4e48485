import { createHash, randomUUID } from 'node:crypto';
import type { MedplumClient } from '@medplum/core';
import type { ImagingStudy, Patient } from '@medplum/fhirtypes';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import type { AssessmentQueue } from '../../jobs/assessment-queue.js';
import type { Metrics } from '../../observability/create-metrics.js';
import type { Queryable } from '../../store/sql.js';
import { withTransaction } from '../../store/transaction.js';
import { storeInTransaction } from '../store-notification.js';
import type { ReceivedInstance } from './received-instance.js';
import { studyIdentifierValue } from './received-instance.js';

/** The inbox `subscription` of studies received over DICOM DIMSE. */
export const DIMSE_INBOX_SOURCE = 'dicom-dimse';

/** Dependencies of {@link completeStudy}. */
export interface CompleteStudyDeps {
  pool: Pool;
  queue: AssessmentQueue;
  /** The EHR: Patient search and ImagingStudy conditional create (Patient.rs, ImagingStudy.cr). */
  ehr: MedplumClient;
  logger: Logger;
  metrics: Metrics;
  /** DICOM_ISSUER_SYSTEMS: Issuer of Patient ID → Identifier.system. */
  issuerSystems: Readonly<Record<string, string>>;
}

/** What happened to a complete study; `reason` names why no job was queued. */
export type StudyOutcome =
  | { status: 'queued'; patientId: string; imagingStudyId: string; created: boolean }
  | { status: 'not-queued'; reason: 'unknown-issuer' | 'no-patient' | 'several-patients' };

/**
 * Runs when a study has been quiet for DICOM_STUDY_QUIET_MS (its instances are all in the PACS):
 * 1. the patient is found in the EHR by Patient ID with the issuer's system (an ID without a
 *    known system is never searched: the same number under another issuer is another patient);
 * 2. the study's ImagingStudy is ensured by a conditional create on its `urn:dicom:uid`
 *    identifier (FHIR R4 §3.1.0.8 `If-None-Exist`): an ImagingStudy the EHR already has is used
 *    as it is, otherwise one listing the received series and instances is created — assembly
 *    finds images only through ImagingStudy (docs/dicom-dimse-intake.md);
 * 3. the inbox row and the patient's job are committed together (`storeInTransaction`), and
 *    `handedOver` (removing the study's pending record) runs in that same transaction, so a crash
 *    leaves either both or neither. A study that queues no job is handed over too (`handedOver`
 *    outside a transaction): retrying it would only find the same answer.
 * Running it again for the same instances (after a crash) makes no second job: the ImagingStudy
 * create is conditional and the inbox dedupe key is the study's SOP Instance UIDs.
 */
export async function completeStudy(
  instances: readonly ReceivedInstance[],
  deps: CompleteStudyDeps,
  handedOver: (db: Queryable) => Promise<void> = async () => undefined,
): Promise<StudyOutcome> {
  const first = instances[0];
  if (!first) throw new Error('completeStudy needs at least one instance');
  const studyKey = createHash('sha256').update(first.studyInstanceUid).digest('hex').slice(0, 32);
  const system = identifierSystem(first.issuerOfPatientId, deps.issuerSystems);
  const finish = async (outcome: StudyOutcome): Promise<StudyOutcome> => {
    if (outcome.status === 'not-queued') await handedOver(deps.pool);
    deps.logger.info(
      { studyKey, instances: instances.length, ...outcome, patientId: undefined },
      'dicom study complete',
    );
    if (outcome.status === 'not-queued')
      deps.metrics.notificationsRejected.inc({ reason: `dimse-${outcome.reason}` });
    return outcome;
  };
  if (!system) return finish({ status: 'not-queued', reason: 'unknown-issuer' });
  const patients = await deps.ehr.searchResources('Patient', {
    identifier: `${system}|${first.patientId}`,
    _count: '2',
  });
  if (patients.length === 0) return finish({ status: 'not-queued', reason: 'no-patient' });
  if (patients.length > 1) return finish({ status: 'not-queued', reason: 'several-patients' });
  const patient = patients[0] as Patient & { id: string };
  const identifier = studyIdentifierValue(first.studyInstanceUid);
  const existing = await deps.ehr.searchResources('ImagingStudy', {
    identifier: `urn:dicom:uid|${identifier}`,
  });
  const study =
    existing[0] ??
    (await deps.ehr.createResourceIfNoneExist<ImagingStudy>(
      imagingStudyOf(instances, patient.id),
      `identifier=${encodeURIComponent(`urn:dicom:uid|${identifier}`)}`,
    ));
  const sopKey = createHash('sha256')
    .update(JSON.stringify(instances.map((i) => i.sopInstanceUid).sort()))
    .digest('hex')
    .slice(0, 32);
  await withTransaction(deps.pool, async (client) => {
    await storeInTransaction(
      client,
      deps.queue,
      DIMSE_INBOX_SOURCE,
      [
        {
          dialect: 'dimse',
          dedupeKey: `dimse:${studyKey}:${sopKey}`,
          resourceType: 'ImagingStudy',
          resourceId: study.id,
          patientId: patient.id,
          payload: { studyKey, instances: instances.length },
        },
      ],
      randomUUID(),
    );
    await handedOver(client);
  });
  deps.metrics.notificationsAccepted.inc();
  return finish({
    status: 'queued',
    patientId: patient.id,
    imagingStudyId: study.id ?? '',
    created: existing.length === 0,
  });
}

/** Identifier.system of a Patient ID: the issuer when it is a URI, else DICOM_ISSUER_SYSTEMS. */
export function identifierSystem(issuer: string, map: Readonly<Record<string, string>>): string | undefined {
  if (/^(?:https?:\/\/|urn:(?:oid|uuid):)/.test(issuer)) return issuer;
  return map[issuer];
}

/** An R4 ImagingStudy (§4.2) of the received instances, grouped by series; no `endpoint`: DICOMWEB_BASE_URL serves it. */
export function imagingStudyOf(instances: readonly ReceivedInstance[], patientId: string): ImagingStudy {
  const first = instances[0]!;
  const seriesByUid = new Map<string, ReceivedInstance[]>();
  for (const instance of instances) {
    const list = seriesByUid.get(instance.seriesInstanceUid) ?? [];
    list.push(instance);
    seriesByUid.set(instance.seriesInstanceUid, list);
  }
  const modalityOf = (code: string) => ({ system: 'http://dicom.nema.org/resources/ontology/DCM', code });
  const started = dicomInstant(first.studyDate, first.studyTime);
  const modalities = [...new Set(instances.map((i) => i.modality).filter(Boolean))];
  return {
    resourceType: 'ImagingStudy',
    identifier: [{ system: 'urn:dicom:uid', value: studyIdentifierValue(first.studyInstanceUid) }],
    status: 'available',
    subject: { reference: `Patient/${patientId}` },
    ...(started ? { started } : {}),
    ...(modalities.length ? { modality: modalities.map(modalityOf) } : {}),
    ...(first.studyDescription ? { description: first.studyDescription } : {}),
    numberOfSeries: seriesByUid.size,
    numberOfInstances: instances.length,
    series: [...seriesByUid.entries()].map(([uid, members]) => ({
      uid,
      modality: modalityOf(members[0]!.modality),
      numberOfInstances: members.length,
      instance: members.map((m) => ({
        uid: m.sopInstanceUid,
        sopClass: { system: 'urn:ietf:rfc:3986', code: `urn:oid:${m.sopClassUid}` },
      })),
    })),
  };
}

/** DA + TM (PS3.5 §6.2) as a FHIR dateTime in UTC (the sender's offset is unknown without (0008,0201)). */
function dicomInstant(date: string, time: string): string | undefined {
  const d = /^(\d{4})(\d{2})(\d{2})$/.exec(date.trim());
  if (!d) return undefined;
  const t = /^(\d{2})(\d{2})?(\d{2})?/.exec(time.trim());
  if (!t) return `${d[1]}-${d[2]}-${d[3]}`;
  return `${d[1]}-${d[2]}-${d[3]}T${t[1]}:${t[2] ?? '00'}:${t[3] ?? '00'}Z`;
}
