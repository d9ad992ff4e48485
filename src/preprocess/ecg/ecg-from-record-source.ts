import type { Observation } from '@medplum/fhirtypes';
import type { FetchedDicomInstance } from '../../contracts/patient-record.js';
import type { LibraryMessageSink } from '../imaging/dicom-dataset.js';
import type { PreprocessResult } from '../result.js';
import type { UnitConverter } from '../tabular/unit-conversion.js';
import { ecgFromDicomWaveform } from './ecg-from-dicom-waveform.js';
import { ecgFromObservation } from './ecg-from-observation.js';
import type { EcgLeads } from './ecg-leads.js';

/** Whether an assembled ECG came as a FHIR Observation (SampledData) rather than a DICOM waveform. */
export function isEcgObservation(data: Observation | FetchedDicomInstance): data is Observation {
  return (data as Observation).resourceType === 'Observation';
}

/**
 * The leads of an assembled record's ECG, whichever form it came in: a FHIR Observation with
 * SampledData (R4 §2.24.0.13) or a DICOM 12-lead waveform (PS3.3 A.34.3). The risk models'
 * preprocessing and the similar-case index both read ECGs through this, so they cannot differ.
 */
export function ecgLeadsFromSource(data: Observation | FetchedDicomInstance, options: { convertUnit: UnitConverter; onLibraryMessage?: LibraryMessageSink }): PreprocessResult<EcgLeads> {
  return isEcgObservation(data) ? ecgFromObservation(data, options) : ecgFromDicomWaveform(data.bytes, options);
}
