import type { Resource } from '@medplum/fhirtypes';
import type { CohortOptions } from '../../../../src/sandbox/cohort/index.js';
import type { DcmjsData, NaturalizedDataset } from '../../../../src/sandbox/cohort/dcmjs-api.js';

/** Small, fast cohort options for tests (64-pixel images, fixed clock). */
export function testOptions(overrides: Partial<CohortOptions> = {}): CohortOptions {
  return {
    patients: 8,
    seed: 42,
    now: new Date('2026-03-01T12:00:00Z'),
    dicomwebBaseUrl: 'http://pacs.example.org/dicomweb',
    imageSize: 64,
    ...overrides,
  };
}

/** Reads a Part-10 file with dcmjs into its naturalized dataset and meta. */
export function readDicom(
  dcmjs: DcmjsData,
  bytes: Uint8Array,
): { meta: NaturalizedDataset; dataset: NaturalizedDataset } {
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const file = dcmjs.DicomMessage.readFile(buffer);
  return {
    meta: dcmjs.DicomMetaDictionary.naturalizeDataset(file.meta),
    dataset: dcmjs.DicomMetaDictionary.naturalizeDataset(file.dict),
  };
}

/** Resources of one type, narrowed. */
export function ofType<T extends Resource['resourceType']>(
  resources: Resource[],
  type: T,
): Extract<Resource, { resourceType: T }>[] {
  return resources.filter((r): r is Extract<Resource, { resourceType: T }> => r.resourceType === type);
}
