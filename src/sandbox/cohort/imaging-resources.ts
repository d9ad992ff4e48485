import type { Endpoint, ImagingStudy } from '@medplum/fhirtypes';

/** Id of the one `Endpoint` every generated ImagingStudy points at. */
export const cohortEndpointId = 'cohort-dicomweb';

/**
 * The DICOMweb endpoint (FHIR R4 §8.25 Endpoint): connectionType `dicom-wado-rs` from the
 * endpoint-connection-type code system, payload DICOM, address the WADO-RS base URL.
 */
export function dicomwebEndpoint(baseUrl: string): Endpoint {
  return {
    resourceType: 'Endpoint',
    id: cohortEndpointId,
    status: 'active',
    name: 'Synthetic cohort DICOMweb (WADO-RS)',
    connectionType: {
      system: 'http://terminology.hl7.org/CodeSystem/endpoint-connection-type',
      code: 'dicom-wado-rs',
      display: 'DICOM WADO-RS',
    },
    payloadType: [
      {
        coding: [
          {
            system: 'http://terminology.hl7.org/CodeSystem/endpoint-payload-type',
            code: 'any',
            display: 'Any',
          },
        ],
        text: 'DICOM',
      },
    ],
    payloadMimeType: ['application/dicom'],
    address: baseUrl,
  };
}

/** What the ImagingStudy describes. */
export interface ImagingStudyInput {
  id: string;
  patientId: string;
  encounterId: string;
  started: Date;
  modality: 'DX' | 'CR' | 'ECG';
  description: string;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  sopInstanceUid: string;
  sopClassUid: string;
  accessionNumber: string;
  /** SNOMED CT body site; omitted for ECG. */
  bodySite?: { code: string; display: string };
}

/**
 * ImagingStudy (FHIR R4 §4.2.14) of one series with one instance. The Study Instance UID goes
 * in `identifier` as `urn:oid:` with system `urn:dicom:uid` (R4 ImagingStudy notes), and
 * `endpoint` names where WADO-RS retrieves it.
 */
export function imagingStudy(input: ImagingStudyInput): ImagingStudy {
  const modality = { system: 'http://dicom.nema.org/resources/ontology/DCM', code: input.modality };
  return {
    resourceType: 'ImagingStudy',
    id: input.id,
    identifier: [
      { system: 'urn:dicom:uid', value: `urn:oid:${input.studyInstanceUid}` },
      {
        type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'ACSN' }] },
        value: input.accessionNumber,
      },
    ],
    status: 'available',
    modality: [modality],
    subject: { reference: `Patient/${input.patientId}` },
    encounter: { reference: `Encounter/${input.encounterId}` },
    started: input.started.toISOString(),
    endpoint: [{ reference: `Endpoint/${cohortEndpointId}` }],
    numberOfSeries: 1,
    numberOfInstances: 1,
    description: input.description,
    series: [
      {
        uid: input.seriesInstanceUid,
        number: 1,
        modality,
        description: input.description,
        numberOfInstances: 1,
        endpoint: [{ reference: `Endpoint/${cohortEndpointId}` }],
        ...(input.bodySite
          ? {
              bodySite: {
                system: 'http://snomed.info/sct',
                code: input.bodySite.code,
                display: input.bodySite.display,
              },
            }
          : {}),
        started: input.started.toISOString(),
        instance: [
          {
            uid: input.sopInstanceUid,
            sopClass: { system: 'urn:ietf:rfc:3986', code: `urn:oid:${input.sopClassUid}` },
            number: 1,
          },
        ],
      },
    ],
  };
}
