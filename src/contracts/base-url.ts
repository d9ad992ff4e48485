/**
 * A base URL or path prefix without its trailing slashes, so that `${base}/${path}` has exactly one
 * slash between the two (RFC 3986 §5.2.3 would drop the base's last segment, not join it, so the
 * server joins by hand). Every configured base (FHIR server, DICOMweb, KServe, public URL, route
 * prefixes) goes through this one function.
 */
export function withoutTrailingSlash(url: string): string {
  let end = url.length;
  while (end > 0 && url.charCodeAt(end - 1) === SLASH) end--;
  return url.slice(0, end);
}

const SLASH = 0x2f;
