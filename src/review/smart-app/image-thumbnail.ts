import type { Endpoint, ImagingStudy } from '@medplum/fhirtypes';
import { PNG } from 'pngjs';
import { fetchDicomInstance } from '../../assembly/fetch-dicom-instance.js';
import type { AllowList } from '../../fhir/outbound-fetch.js';
import type { FetchLike } from '../../contracts/fetch-like.js';
import { loadCompressedFrameDecoder, type CompressedFrameDecoder } from '../../preprocess/imaging/compressed-frame-decoder.js';
import { decodeDicomImage } from '../../preprocess/imaging/decode-dicom-image.js';
import { toModelImage } from '../../preprocess/imaging/to-model-image.js';
import { ReviewError } from './review-error.js';
import { blendRegion, fetchFindingRegion, type FindingOverlay } from './localisation-overlay.js';

/** How the thumbnail reaches the PACS: the pipeline's allow-listed DICOMweb fetch. */
export interface ThumbnailSource {
  fetch: FetchLike;
  allowList: AllowList;
  defaultBaseUrl: string | undefined;
  /** Loaded on first use: JPEG / JPEG-LS / JPEG 2000 decoders. */
  codecs?: () => Promise<CompressedFrameDecoder | undefined>;
}

const THUMBNAIL_SIZE = 256;
const MAX_INSTANCE_BYTES = 128 * 1024 * 1024;

/**
 * A PNG thumbnail of the first image instance of a study, fetched with WADO-RS (DICOM PS3.18
 * §10.4 Retrieve Instance) and decoded, windowed (VOI LUT, PS3.3 C.11.2) and resized by the same
 * `src/preprocess/imaging` code the model input goes through, so the clinician sees what the model saw.
 */
export async function renderStudyThumbnail(
  study: ImagingStudy,
  endpoints: Endpoint[],
  source: ThumbnailSource,
  /** A localised finding to overlay (issue #20): its SEG's region, tinted, on the thumbnail. */
  overlay?: FindingOverlay,
): Promise<Buffer> {
  const series = (study.series ?? []).find((s) => s.instance?.[0]?.uid);
  const sop = series?.instance?.[0]?.uid;
  if (!series || !sop) throw new ReviewError(404, 'No image', 'The imaging study lists no instance.', 'Nothing to do.');
  const fetched = await fetchDicomInstance(study, series, sop, endpoints, {
    fetch: source.fetch,
    allowList: source.allowList,
    defaultBaseUrl: source.defaultBaseUrl,
    maxBytes: MAX_INSTANCE_BYTES,
  });
  if (fetched.status !== 'present') {
    throw new ReviewError(502, 'Image unavailable', `The image could not be retrieved (${fetched.reason}).`, 'Try again later.');
  }
  const decoded = decodeDicomImage(fetched.data.bytes, {
    maxPixels: 8192 * 8192,
    ...(source.codecs ? { codecs: await source.codecs() } : {}),
  });
  if (!decoded.ok) {
    throw new ReviewError(502, 'Image unavailable', 'The image could not be decoded.', 'Try again later.');
  }
  const image = toModelImage(decoded.value, { size: [THUMBNAIL_SIZE, THUMBNAIL_SIZE], mean: 0, std: 1 });
  const grey = Buffer.alloc(THUMBNAIL_SIZE * THUMBNAIL_SIZE);
  for (let i = 0; i < grey.length; i++) grey[i] = Math.round(Math.max(0, Math.min(1, image.data[i] ?? 0)) * 255);
  const region = overlay ? await fetchFindingRegion(study, endpoints, source, overlay) : undefined;
  if (overlay && !region) throw new ReviewError(404, 'No localisation', 'The PACS does not hold the localisation yet.', 'Try again later.');
  if (region) {
    const png = new PNG({ width: THUMBNAIL_SIZE, height: THUMBNAIL_SIZE, colorType: 2, inputColorType: 2, inputHasAlpha: false });
    png.data = blendRegion(grey, image.geometry, region);
    return PNG.sync.write(png, { colorType: 2, inputColorType: 2, inputHasAlpha: false });
  }
  const png = new PNG({ width: THUMBNAIL_SIZE, height: THUMBNAIL_SIZE, colorType: 0, inputColorType: 0, inputHasAlpha: false });
  png.data = grey;
  return PNG.sync.write(png, { colorType: 0, inputColorType: 0, inputHasAlpha: false });
}

/**
 * The thumbnail source for the app: the pipeline's allow-listed DICOMweb fetch (the clinician's
 * right to the study is checked first by reading the ImagingStudy with their token) and the
 * compressed-frame codecs, loaded once on first use.
 */
export function reviewThumbnails(
  config: { DICOMWEB_BASE_URL: string | undefined },
  outbound: { dicomFetch: FetchLike; allowList: AllowList },
): ThumbnailSource {
  let codecs: Promise<CompressedFrameDecoder | undefined> | undefined;
  return {
    fetch: outbound.dicomFetch,
    allowList: outbound.allowList,
    defaultBaseUrl: config.DICOMWEB_BASE_URL,
    codecs: () => (codecs ??= loadCompressedFrameDecoder().catch(() => undefined)),
  };
}
