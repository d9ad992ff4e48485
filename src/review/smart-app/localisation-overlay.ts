import { createRequire } from 'node:module';
import type { Endpoint, ImagingStudy, ImagingStudySeries, Observation } from '@medplum/fhirtypes';
import type { ImageGeometry } from '../../contracts/localisation.js';
import { PROFILE_URLS } from '../../contracts/fusion-terminology.js';
import { dicomwebBase, fetchDicomInstance, studyInstanceUid } from '../../assembly/fetch-dicom-instance.js';
import type { FetchLike } from '../../contracts/fetch-like.js';
import type { AllowList } from '../../fhir/outbound-fetch.js';

/** How the SEG reaches the PACS: the thumbnail's allow-listed DICOMweb fetch. */
export interface SegmentationSource {
  fetch: FetchLike;
  allowList: AllowList;
  defaultBaseUrl: string | undefined;
}

/** What the page needs to overlay a localised finding: the SEG holding it and the finding's code. */
export interface FindingOverlay {
  segSopInstanceUid: string;
  /** SNOMED CT code of the finding (the segment's Segmented Property Type). */
  findingCode: string;
}

/**
 * The SEG and finding code a FusionImagingFinding names (identifier `urn:dicom:uid`, `code`), or
 * `undefined` for any other Observation.
 */
export function findingOverlayOf(observation: Observation): FindingOverlay | undefined {
  if (!observation.meta?.profile?.includes(PROFILE_URLS.ImagingFinding)) return undefined;
  const uid = observation.identifier
    ?.find((i) => i.system === 'urn:dicom:uid')
    ?.value?.replace(/^urn:oid:/, '');
  const findingCode = observation.code?.coding?.find((c) => c.system === 'http://snomed.info/sct')?.code;
  return uid && findingCode && /^[0-9.]{1,64}$/.test(uid)
    ? { segSopInstanceUid: uid, findingCode }
    : undefined;
}

type Naturalized = Record<string, unknown>;
const one = (v: unknown): Naturalized | undefined =>
  Array.isArray(v) ? (v[0] as Naturalized | undefined) : (v as Naturalized | undefined);

/**
 * The region of one segment of a BINARY SEG (PS3.3 C.8.20.2), one byte per pixel on its Rows ×
 * Columns, for the segment whose Segmented Property Type is `findingCode`; `undefined` when the SEG
 * holds no such segment or is not BINARY.
 */
export function segmentMask(
  part10: Uint8Array,
  findingCode: string,
): { mask: Uint8Array; width: number; height: number } | undefined {
  const dcmjs = createRequire(import.meta.url)('dcmjs') as {
    data: {
      DicomMessage: { readFile(b: ArrayBuffer): { dict: Naturalized } };
      DicomMetaDictionary: { naturalizeDataset(d: Naturalized): Naturalized };
    };
  };
  const buffer = part10.buffer.slice(part10.byteOffset, part10.byteOffset + part10.byteLength) as ArrayBuffer;
  const ds = dcmjs.data.DicomMetaDictionary.naturalizeDataset(dcmjs.data.DicomMessage.readFile(buffer).dict);
  if (ds.SegmentationType !== 'BINARY') return undefined;
  const width = Number(ds.Columns);
  const height = Number(ds.Rows);
  const segments = ([] as unknown[]).concat(ds.SegmentSequence ?? []) as Naturalized[];
  const segment = segments.find((s) => one(s.SegmentedPropertyTypeCodeSequence)?.CodeValue === findingCode);
  if (!segment || !width || !height) return undefined;
  const frames = ([] as unknown[]).concat(ds.PerFrameFunctionalGroupsSequence ?? []) as Naturalized[];
  const frame = frames.findIndex(
    (f) =>
      Number(one(f.SegmentIdentificationSequence)?.ReferencedSegmentNumber) === Number(segment.SegmentNumber),
  );
  const pixels = ([] as unknown[]).concat(ds.PixelData ?? [])[0];
  if (frame < 0 || !(pixels instanceof ArrayBuffer)) return undefined;
  const bits = new Uint8Array(pixels);
  const n = width * height;
  const mask = new Uint8Array(n);
  const start = frame * n;
  if (start + n > bits.length * 8) return undefined;
  for (let i = 0; i < n; i++) mask[i] = (bits[(start + i) >> 3]! >> ((start + i) & 7)) & 1;
  return { mask, width, height };
}

/**
 * Blends `mask` (on the source frame) over a greyscale thumbnail drawn with `geometry`
 * (`toModelImage` at the thumbnail size): every thumbnail pixel on the image looks up the source
 * pixel under it; marked ones are tinted semi-transparent orange-red (alpha 0.45), padding never.
 * Returns RGB bytes.
 */
export function blendRegion(
  grey: Uint8Array,
  geometry: ImageGeometry,
  region: { mask: Uint8Array; width: number; height: number },
): Buffer {
  const { modelWidth: w, modelHeight: h } = geometry;
  const rgb = Buffer.alloc(w * h * 3);
  const alpha = 0.45;
  const tint = [255, 80, 0] as const;
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      const g = grey[i] ?? 0;
      const sx = Math.floor(((x + 0.5 - geometry.offsetX) * geometry.sourceWidth) / geometry.scaledWidth);
      const sy = Math.floor(((y + 0.5 - geometry.offsetY) * geometry.sourceHeight) / geometry.scaledHeight);
      const inside = sx >= 0 && sy >= 0 && sx < geometry.sourceWidth && sy < geometry.sourceHeight;
      // The SEG is on the source's Rows × Columns; a SEG of another size is scaled onto it.
      const mx = Math.floor((sx * region.width) / geometry.sourceWidth);
      const my = Math.floor((sy * region.height) / geometry.sourceHeight);
      const marked = inside && region.mask[my * region.width + mx] === 1;
      for (let c = 0; c < 3; c++)
        rgb[i * 3 + c] = marked ? Math.round((1 - alpha) * g + alpha * tint[c]!) : g;
    }
  return rgb;
}

/**
 * Retrieves the SEG a finding names from the study's PACS: QIDO-RS finds its series
 * (PS3.18 §10.6, `instances?SOPInstanceUID=`), WADO-RS retrieves it — both through the app's
 * allow-listed DICOMweb fetch — and returns the finding's region, or `undefined` when the PACS
 * does not have it (yet: the SEG is stored after the FHIR write, and retried).
 */
export async function fetchFindingRegion(
  study: ImagingStudy,
  endpoints: Endpoint[],
  source: SegmentationSource,
  overlay: FindingOverlay,
): Promise<ReturnType<typeof segmentMask>> {
  const studyUid = studyInstanceUid(study);
  const base = dicomwebBase(study, undefined, endpoints, source.defaultBaseUrl);
  if (!studyUid || !base || !source.allowList.allows(base)) return undefined;
  let seriesUid: unknown;
  try {
    const r = await source.fetch(
      `${base}/studies/${studyUid}/instances?SOPInstanceUID=${overlay.segSopInstanceUid}`,
      {
        headers: { accept: 'application/dicom+json' },
      },
    );
    if (!r.ok) return undefined;
    const found = (await r.json()) as Array<Record<string, { Value?: unknown[] }>>;
    seriesUid = found[0]?.['0020000E']?.Value?.[0];
  } catch {
    return undefined;
  }
  if (typeof seriesUid !== 'string') return undefined;
  const series: ImagingStudySeries = { uid: seriesUid, modality: { code: 'SEG' } };
  const fetched = await fetchDicomInstance(study, series, overlay.segSopInstanceUid, endpoints, {
    fetch: source.fetch,
    allowList: source.allowList,
    defaultBaseUrl: source.defaultBaseUrl,
    maxBytes: 64 * 1024 * 1024,
  });
  if (fetched.status !== 'present') return undefined;
  try {
    return segmentMask(fetched.data.bytes, overlay.findingCode);
  } catch {
    return undefined;
  }
}
