import type { FastifyInstance } from 'fastify';
import { MultipartParseError, parseMediaType, parseMultipartRelated } from '../../fhir/multipart-related.js';
import type { Part10Reader } from './dcmjs-reader.js';
import { FAILURE_CANNOT_UNDERSTAND, parsePart10Instance } from './dicom-instance.js';
import type { DicomJsonDataset } from './dicom-json.js';
import type { DicomStore } from './dicom-store.js';
import { sendDicomwebError } from './dicomweb-errors.js';
import { uidParamsSchema } from './route-schemas.js';

/** PS3.18 §10.5.3.3 (Table 10.5.3-2): "the Study Instance UID does not match the one in the URL". */
const FAILURE_STUDY_MISMATCH = 0xa900;

/** What the STOW-RS routes need. */
export interface StowRouteOptions {
  store: DicomStore;
  reader: Part10Reader;
  baseUrl(request: { protocol: string; host: string }): string;
}

interface StowParams {
  study?: string;
}

/**
 * STOW-RS (DICOM PS3.18 §10.5): `POST /studies` and `POST /studies/{study}` with a
 * `multipart/related; type="application/dicom"` body of Part-10 instances. Answers the Store
 * Instances Response Module (PS3.18 §10.5.3.2) as DICOM JSON: 200 when all were stored, 202 when
 * some failed, 409 when none was stored.
 */
export async function registerStowRoutes(app: FastifyInstance, options: StowRouteOptions): Promise<void> {
  const handler = async (
    request: import('fastify').FastifyRequest<{ Params: StowParams }>,
    reply: import('fastify').FastifyReply,
  ) => {
    const contentType = request.headers['content-type'] ?? '';
    const { mediaType, parameters } = parseMediaType(contentType);
    if (mediaType !== 'multipart/related') {
      return sendDicomwebError(
        reply,
        415,
        'not-supported',
        `STOW-RS needs multipart/related, got "${mediaType || 'none'}"`,
        'Content-Type',
      );
    }
    const rootType = (parameters.type ?? 'application/dicom').toLowerCase();
    if (rootType !== 'application/dicom') {
      return sendDicomwebError(
        reply,
        415,
        'not-supported',
        `only type="application/dicom" is supported, got "${rootType}"`,
        'Content-Type',
      );
    }
    const body = request.body;
    if (!Buffer.isBuffer(body) || body.length === 0) {
      return sendDicomwebError(reply, 400, 'structure', 'the request body is empty', 'body');
    }
    let parts;
    try {
      parts = parseMultipartRelated(body, contentType);
    } catch (error) {
      if (error instanceof MultipartParseError) {
        return sendDicomwebError(
          reply,
          400,
          'structure',
          `malformed multipart/related body: ${error.message}`,
          error.where,
        );
      }
      throw error;
    }
    if (parts.length === 0) {
      return sendDicomwebError(reply, 400, 'structure', 'the multipart body has no parts', 'body');
    }
    const base = options.baseUrl(request);
    const referenced: DicomJsonDataset[] = [];
    const failed: DicomJsonDataset[] = [];
    const studyFromUrl = request.params.study;
    for (const part of parts) {
      const partType = parseMediaType(part.headers['content-type'] ?? rootType).mediaType;
      if (partType !== 'application/dicom') {
        failed.push(failure(FAILURE_CANNOT_UNDERSTAND));
        continue;
      }
      const parsed = parsePart10Instance(part.body, options.reader);
      if (!parsed.ok) {
        failed.push(failure(parsed.failureReason, parsed.sopClassUid, parsed.sopInstanceUid));
        continue;
      }
      const instance = parsed.value;
      if (studyFromUrl && instance.studyInstanceUid !== studyFromUrl) {
        failed.push(failure(FAILURE_STUDY_MISMATCH, instance.sopClassUid, instance.sopInstanceUid));
        continue;
      }
      options.store.put(instance);
      referenced.push({
        '00081150': { vr: 'UI', Value: [instance.sopClassUid] },
        '00081155': { vr: 'UI', Value: [instance.sopInstanceUid] },
        '00081190': {
          vr: 'UR',
          Value: [
            `${base}/studies/${instance.studyInstanceUid}/series/${instance.seriesInstanceUid}/instances/${instance.sopInstanceUid}`,
          ],
        },
      });
    }
    request.log.info({ stored: referenced.length, failed: failed.length }, 'STOW-RS request processed');
    const response: DicomJsonDataset = {};
    if (studyFromUrl) response['00081190'] = { vr: 'UR', Value: [`${base}/studies/${studyFromUrl}`] };
    if (failed.length) response['00081198'] = { vr: 'SQ', Value: failed };
    if (referenced.length) response['00081199'] = { vr: 'SQ', Value: referenced };
    const status = failed.length === 0 ? 200 : referenced.length === 0 ? 409 : 202;
    return reply.code(status).type('application/dicom+json').send(JSON.stringify(response));
  };
  app.post<{ Params: StowParams }>('/studies', { schema: { params: uidParamsSchema } }, handler);
  app.post<{ Params: StowParams }>('/studies/:study', { schema: { params: uidParamsSchema } }, handler);
}

/** One FailedSOPSequence item (PS3.18 Table 10.5.3-2). */
function failure(reason: number, sopClassUid?: string, sopInstanceUid?: string): DicomJsonDataset {
  return {
    ...(sopClassUid ? { '00081150': { vr: 'UI', Value: [sopClassUid] } } : {}),
    ...(sopInstanceUid ? { '00081155': { vr: 'UI', Value: [sopInstanceUid] } } : {}),
    '00081197': { vr: 'US', Value: [reason] },
  };
}
