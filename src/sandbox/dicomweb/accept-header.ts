import { parseMediaType, type MediaType } from '../../fhir/multipart-related.js';

/** One media range of an `Accept` header with its quality (RFC 7231 §5.3.2). */
export interface AcceptedMediaRange extends MediaType {
  quality: number;
}

/**
 * Parses `Accept` into media ranges, highest quality first; an absent header accepts anything.
 * DICOMweb puts `type` and `transfer-syntax` parameters on `multipart/related` ranges
 * (PS3.18 §8.7.3), so parameters are kept.
 */
export function parseAccept(header: string | undefined): AcceptedMediaRange[] {
  if (!header || !header.trim()) return [{ mediaType: '*/*', parameters: {}, quality: 1 }];
  const ranges: AcceptedMediaRange[] = [];
  // Split on commas outside quoted strings.
  let depth = false;
  let start = 0;
  const pieces: string[] = [];
  for (let i = 0; i < header.length; i++) {
    if (header[i] === '"') depth = !depth;
    else if (header[i] === ',' && !depth) {
      pieces.push(header.slice(start, i));
      start = i + 1;
    }
  }
  pieces.push(header.slice(start));
  for (const piece of pieces) {
    if (!piece.trim()) continue;
    const parsed = parseMediaType(piece);
    const q = parsed.parameters.q === undefined ? 1 : Number(parsed.parameters.q);
    delete parsed.parameters.q;
    ranges.push({ ...parsed, quality: Number.isFinite(q) ? q : 0 });
  }
  return ranges.filter((r) => r.quality > 0).sort((a, b) => b.quality - a.quality);
}

/** Whether a media range covers `mediaType` (`*\/*`, `type/*` or exact). */
export function rangeCovers(range: string, mediaType: string): boolean {
  if (range === '*/*' || range === mediaType) return true;
  return range.endsWith('/*') && mediaType.startsWith(range.slice(0, -1));
}
