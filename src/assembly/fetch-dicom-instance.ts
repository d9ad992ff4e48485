import type { Endpoint, ImagingStudy, ImagingStudySeries, Reference } from '@medplum/fhirtypes';
import type { FetchLike } from '../contracts/fetch-like.js';
import type { AllowList } from '../fhir/outbound-fetch.js';
import { parseMultipartRelated } from '../fhir/multipart-related.js';
import type { FetchedDicomInstance, ModalityResult } from '../contracts/patient-record.js';
import { withoutTrailingSlash } from '../contracts/base-url.js';

/** Which series and instance to take from a study (from the model manifests). */
export interface SeriesSelection {
  /** DICOM Modality values accepted, e.g. CR, DX (or ECG for waveforms). */
  modalities: string[];
}

/** What fetching one DICOM instance needs. */
export interface DicomFetchOptions {
  fetch: FetchLike;
  allowList: AllowList;
  /** Used when the ImagingStudy names no endpoint. */
  defaultBaseUrl?: string;
  /** Instances larger than this are refused, not buffered. */
  maxBytes: number;
}

/** The DICOMweb base of a study: its `endpoint` (R4 ImagingStudy.endpoint, connectionType dicom-wado-rs) or the default. */
export function dicomwebBase(
  study: ImagingStudy,
  series: ImagingStudySeries | undefined,
  endpoints: Endpoint[],
  fallback: string | undefined,
): string | undefined {
  const refs: Reference[] = [...(series?.endpoint ?? []), ...(study.endpoint ?? [])];
  for (const ref of refs) {
    const id = ref.reference?.split('/').pop();
    const endpoint = endpoints.find((e) => e.id === id);
    if (endpoint?.address && endpoint.status !== 'off') return withoutTrailingSlash(endpoint.address);
  }
  return fallback === undefined ? undefined : withoutTrailingSlash(fallback);
}

/** Picks the newest study with a series of an accepted modality, and its first instance. */
export function selectInstance(
  studies: ImagingStudy[],
  selection: SeriesSelection,
): { study: ImagingStudy; series: ImagingStudySeries; sopInstanceUid: string } | undefined {
  const sorted = [...studies].sort((a, b) => (b.started ?? '').localeCompare(a.started ?? ''));
  for (const study of sorted) {
    if (study.status === 'cancelled' || study.status === 'entered-in-error') continue;
    for (const series of study.series ?? []) {
      if (!selection.modalities.includes(series.modality?.code ?? '')) continue;
      const instance = series.instance?.[0];
      if (instance?.uid) return { study, series, sopInstanceUid: instance.uid };
    }
  }
  return undefined;
}

/**
 * Retrieves one instance with WADO-RS (DICOM PS3.18 §10.4.1: `GET {base}/studies/{s}/series/{se}/instances/{i}`,
 * `Accept: multipart/related; type="application/dicom"; transfer-syntax=*` so the PACS sends what it stores).
 * A base URL whose host is not allow-listed is never called: a URL from EHR data must not make the
 * server reach an arbitrary host.
 */
export async function fetchDicomInstance(
  study: ImagingStudy,
  series: ImagingStudySeries,
  sopInstanceUid: string,
  endpoints: Endpoint[],
  options: DicomFetchOptions,
): Promise<ModalityResult<FetchedDicomInstance>> {
  const studyUid = studyInstanceUid(study);
  const base = dicomwebBase(study, series, endpoints, options.defaultBaseUrl);
  if (!base || !studyUid) {
    return { status: 'missing', reason: 'fetch-failed', detail: 'study has no DICOMweb endpoint or StudyInstanceUID' };
  }
  if (!options.allowList.allows(base)) {
    return { status: 'missing', reason: 'not-allowed', detail: 'DICOMweb endpoint host is not in the allow-list' };
  }
  const url = `${base}/studies/${studyUid}/series/${series.uid}/instances/${sopInstanceUid}`;
  let response: Response;
  try {
    response = await options.fetch(url, {
      headers: { accept: 'multipart/related; type="application/dicom"; transfer-syntax=*' },
    });
  } catch (err) {
    return { status: 'missing', reason: 'fetch-failed', detail: `WADO-RS request failed: ${(err as Error).name}` };
  }
  if (!response.ok) {
    await response.body?.cancel();
    return { status: 'missing', reason: 'fetch-failed', detail: `WADO-RS answered ${response.status}` };
  }
  const declared = Number(response.headers.get('content-length') ?? '0');
  if (declared > options.maxBytes) {
    await response.body?.cancel();
    return { status: 'missing', reason: 'unsupported-format', detail: `instance larger than ${options.maxBytes} bytes` };
  }
  const body = await readLimited(response, options.maxBytes);
  if (!body) return { status: 'missing', reason: 'unsupported-format', detail: `instance larger than ${options.maxBytes} bytes` };
  const contentType = response.headers.get('content-type') ?? '';
  let bytes: Uint8Array;
  if (contentType.toLowerCase().startsWith('multipart/related')) {
    const parts = parseMultipartRelated(body, contentType);
    const first = parts[0];
    if (!first) return { status: 'missing', reason: 'failed-to-decode', detail: 'WADO-RS multipart response had no part' };
    bytes = new Uint8Array(first.body.buffer, first.body.byteOffset, first.body.byteLength);
  } else {
    bytes = new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  }
  return {
    status: 'present',
    data: { studyInstanceUid: studyUid, seriesInstanceUid: series.uid, sopInstanceUid, bytes, dicomwebBaseUrl: base },
    sources: [{ resourceType: 'ImagingStudy', id: study.id ?? '', versionId: study.meta?.versionId }],
  };
}

/** StudyInstanceUID from `ImagingStudy.identifier` (system urn:dicom:uid, value urn:oid:...). */
export function studyInstanceUid(study: ImagingStudy): string | undefined {
  const id = study.identifier?.find((i) => i.system === 'urn:dicom:uid') ?? study.identifier?.[0];
  return id?.value?.replace(/^urn:oid:/, '');
}

async function readLimited(response: Response, maxBytes: number): Promise<Buffer | undefined> {
  if (!response.body) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    total += chunk.byteLength;
    if (total > maxBytes) {
      await response.body.cancel().catch(() => undefined);
      return undefined;
    }
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}
