import type { Attachment, DiagnosticReport } from '@medplum/fhirtypes';
import { fail, ok, type PreprocessResult } from '../result.js';
import { htmlToText } from './html-to-text.js';

/** Content of an attachment the caller fetched (after applying its own URL allow-list). */
export interface FetchedAttachment {
  contentType?: string;
  data: Uint8Array;
}

/** Looks up an attachment the caller has already fetched, by `Attachment.url`. */
export type FetchedAttachmentLookup = (url: string) => FetchedAttachment | undefined;

/** An attachment given only by URL that the caller still has to fetch. */
export interface PendingAttachment {
  /** Element path, e.g. `DiagnosticReport.presentedForm[1].url`. */
  expression: string;
  url: string;
  contentType?: string;
}

/** Report text gathered from `conclusion` and `presentedForm`. */
export interface ExtractedReportText {
  /** Text blocks joined by blank lines: conclusion first, then each readable form. */
  text: string;
  /** URL attachments not yet fetched: call again with a lookup that returns their content. */
  needsFetch: PendingAttachment[];
  /** Forms that could not be read (PDF, images, bad encodings), by element path, with why. */
  skipped: Array<{ expression: string; reason: 'unsupported-format' | 'failed-to-decode'; detail: string }>;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function mediaType(contentType: string | undefined): { type: string; charset: string } {
  const [type = '', ...params] = (contentType ?? '').split(';').map((s) => s.trim());
  const charsetParam = params.find((p) => p.toLowerCase().startsWith('charset='));
  return { type: type.toLowerCase(), charset: (charsetParam?.slice(8).replace(/"/g, '') ?? 'utf-8').toLowerCase() };
}

function decodeBytes(bytes: Uint8Array, charset: string): string | undefined {
  try {
    return new TextDecoder(charset, { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

function readForm(contentType: string | undefined, bytes: Uint8Array, expression: string): { text: string } | ExtractedReportText['skipped'][number] {
  const { type, charset } = mediaType(contentType);
  if (type !== 'text/plain' && type !== 'text/html' && type !== 'application/xhtml+xml') {
    return { expression, reason: 'unsupported-format', detail: `content type '${type || 'missing'}' is not text/plain or text/html` };
  }
  const decoded = decodeBytes(bytes, charset);
  if (decoded === undefined) return { expression, reason: 'failed-to-decode', detail: `not valid ${charset} text` };
  return { text: type === 'text/plain' ? decoded.replace(/\r\n?/g, '\n').trim() : htmlToText(decoded) };
}

/**
 * Gathers a DiagnosticReport's text: `conclusion` (FHIR R4 DiagnosticReport.conclusion) and each
 * `presentedForm` Attachment (FHIR R4 §2.24.0 Attachment: `data` is base64, `url` points at the
 * content). text/plain and text/html are decoded (HTML tags stripped); `url` attachments are
 * returned in `needsFetch` unless `fetched` already has them — the caller fetches them after
 * applying its own allow-list, since this function does no I/O; PDF and other formats are listed
 * in `skipped` as `unsupported-format`. Fails when there is nothing to read at all.
 */
export function extractReportText(report: DiagnosticReport, fetched?: FetchedAttachmentLookup): PreprocessResult<ExtractedReportText> {
  if (!report || report.resourceType !== 'DiagnosticReport') return fail('invalid-value', 'not a DiagnosticReport');
  const blocks: string[] = [];
  const needsFetch: PendingAttachment[] = [];
  const skipped: ExtractedReportText['skipped'] = [];
  if (typeof report.conclusion === 'string' && report.conclusion.trim()) blocks.push(report.conclusion.trim());
  (report.presentedForm ?? []).forEach((form: Attachment, index) => {
    const expression = `DiagnosticReport.presentedForm[${index}]`;
    let bytes: Uint8Array | undefined;
    let contentType = form.contentType;
    if (typeof form.data === 'string') {
      const compact = form.data.replace(/\s+/g, '');
      if (compact.length % 4 === 1 || !BASE64.test(compact)) {
        skipped.push({ expression: `${expression}.data`, reason: 'failed-to-decode', detail: 'not valid base64' });
        return;
      }
      bytes = new Uint8Array(Buffer.from(compact, 'base64'));
    } else if (typeof form.url === 'string') {
      const got = fetched?.(form.url);
      if (!got) {
        needsFetch.push({ expression: `${expression}.url`, url: form.url, ...(contentType ? { contentType } : {}) });
        return;
      }
      bytes = got.data;
      contentType = form.contentType ?? got.contentType;
    } else {
      skipped.push({ expression, reason: 'failed-to-decode', detail: 'attachment has neither data nor url' });
      return;
    }
    const read = readForm(contentType, bytes, `${expression}.contentType`);
    if ('text' in read) {
      if (read.text && !blocks.includes(read.text)) blocks.push(read.text);
    } else skipped.push(read);
  });
  if (blocks.length === 0 && needsFetch.length === 0) {
    const first = skipped[0];
    if (first) return fail(first.reason, `${first.expression}: ${first.detail}`);
    return fail('none-in-window', 'DiagnosticReport has no conclusion and no presentedForm');
  }
  return ok({ text: blocks.join('\n\n'), needsFetch, skipped });
}
