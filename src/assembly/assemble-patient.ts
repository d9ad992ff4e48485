import type { MedplumClient } from '@medplum/core';
import type { DiagnosticReport, Observation, Resource } from '@medplum/fhirtypes';
import type { DicomFetchOptions, SeriesSelection } from './fetch-dicom-instance.js';
import { fetchDicomInstance, selectInstance } from './fetch-dicom-instance.js';
import type { AssemblyWindows, PatientResources } from './fetch-patient-resources.js';
import { fetchPatientResources } from './fetch-patient-resources.js';
import type { ModalityResult, PatientRecord, VersionedReference } from '../contracts/patient-record.js';

/** What assembling a patient needs, all passed in. */
export interface AssemblyOptions {
  client: MedplumClient;
  windows: AssemblyWindows;
  image: SeriesSelection;
  dicom: DicomFetchOptions;
  asOf: Date;
}

/** A versioned reference to a resource (for `basis` and Provenance). */
export function versionedReference(resource: Resource): VersionedReference {
  return { resourceType: resource.resourceType, id: resource.id ?? '', versionId: resource.meta?.versionId };
}

/** True for an Observation carrying waveform samples (R4 SampledData in value or components). */
export function isWaveformObservation(observation: Observation): boolean {
  return Boolean(observation.valueSampledData || observation.component?.some((c) => c.valueSampledData));
}

function within(instant: string | undefined, asOf: Date, hours: number): boolean {
  if (!instant) return false;
  const t = Date.parse(instant);
  return t <= asOf.getTime() + 60_000 && t >= asOf.getTime() - hours * 3_600_000;
}

function observationTime(o: Observation): string | undefined {
  return o.effectiveDateTime ?? o.effectiveInstant ?? o.effectivePeriod?.end ?? o.effectivePeriod?.start ?? o.issued;
}

function reportTime(r: DiagnosticReport): string | undefined {
  return r.effectiveDateTime ?? r.effectivePeriod?.end ?? r.issued;
}

function present<T>(data: T, sources: Resource[]): ModalityResult<T> {
  return { status: 'present', data, sources: sources.map(versionedReference) };
}

/**
 * Assembles one patient's multimodal record from any FHIR R4 server plus any DICOMweb PACS.
 * Each modality is either present (with the exact resource versions used) or missing with a
 * reason; a failure in one modality never fails the record.
 */
export async function assemblePatient(patientId: string, options: AssemblyOptions): Promise<PatientRecord> {
  const fetched = await fetchPatientResources(options.client, patientId, options.windows, options.asOf);
  return assembleFromResources(fetched, options);
}

/**
 * Builds the record from resources already in hand (a FHIR search, or a Bulk Data export's NDJSON
 * grouped per patient): window filters, modality selection, and the DICOMweb fetches for images.
 */
export async function assembleFromResources(
  fetched: PatientResources,
  options: Omit<AssemblyOptions, 'client'>,
): Promise<PatientRecord> {
  const { windows, asOf } = options;
  let roundTrips = fetched.roundTrips;
  const usable = (o: Observation): boolean => ['final', 'amended', 'corrected'].includes(o.status);

  const tabularObs = fetched.observations.filter(
    (o) => usable(o) && !isWaveformObservation(o) && within(observationTime(o), asOf, windows.tabular),
  );
  const ecgObs = fetched.observations
    .filter((o) => usable(o) && isWaveformObservation(o) && within(observationTime(o), asOf, windows.ecg))
    .sort((a, b) => (observationTime(b) ?? '').localeCompare(observationTime(a) ?? ''));
  const reports = fetched.reports.filter(
    (r) => ['final', 'amended', 'corrected', 'appended'].includes(r.status) && within(reportTime(r), asOf, windows.text),
  );

  const tabular: PatientRecord['modalities']['tabular'] =
    tabularObs.length > 0
      ? present(tabularObs, tabularObs)
      : { status: 'missing', reason: 'none-in-window', detail: 'no vital sign or laboratory Observation in the window' };
  const text: PatientRecord['modalities']['text'] =
    reports.length > 0
      ? present(reports, reports)
      : { status: 'missing', reason: 'none-in-window', detail: 'no final DiagnosticReport in the window' };

  let ecg: PatientRecord['modalities']['ecg'];
  const latestEcg = ecgObs[0];
  if (latestEcg) {
    ecg = present<Observation>(latestEcg, [latestEcg]);
  } else {
    const waveform = selectInstance(fetched.studies, { modalities: ['ECG'] });
    if (waveform) {
      roundTrips++;
      ecg = await fetchDicomInstance(waveform.study, waveform.series, waveform.sopInstanceUid, fetched.endpoints, options.dicom);
    } else {
      ecg = { status: 'missing', reason: 'none-in-window', detail: 'no ECG waveform in the window' };
    }
  }

  let image: PatientRecord['modalities']['image'];
  const chosen = selectInstance(fetched.studies, options.image);
  if (!chosen) {
    image = { status: 'missing', reason: 'none-in-window', detail: 'no matching ImagingStudy series in the window' };
  } else {
    const instance = await fetchDicomInstance(chosen.study, chosen.series, chosen.sopInstanceUid, fetched.endpoints, options.dicom);
    image = instance.status === 'present' ? { ...instance, data: { study: chosen.study, instance: instance.data } } : instance;
  }

  return {
    patient: fetched.patient,
    asOf: asOf.toISOString(),
    modalities: { tabular, text, image, ecg },
    roundTrips,
  };
}
