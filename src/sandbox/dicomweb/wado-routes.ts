import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { buildMultipartRelated, type MultipartPartInput } from '../../fhir/multipart-related.js';
import { parseAccept, rangeCovers, type AcceptedMediaRange } from './accept-header.js';
import type { StoredInstance } from './dicom-instance.js';
import type { DicomJsonDataset } from './dicom-json.js';
import type { DicomStore } from './dicom-store.js';
import { sendDicomwebError } from './dicomweb-errors.js';
import { uidParamsSchema } from './route-schemas.js';

/** What the WADO-RS routes need. */
export interface WadoRouteOptions {
  store: DicomStore;
  baseUrl(request: { protocol: string; host: string }): string;
}

interface ResourceParams {
  study: string;
  series?: string;
  instance?: string;
  frames?: string;
  tag?: string;
}

function instanceUrl(base: string, i: StoredInstance): string {
  return `${base}/studies/${i.studyInstanceUid}/series/${i.seriesInstanceUid}/instances/${i.sopInstanceUid}`;
}

/**
 * Picks the transfer syntax for an instance retrieve (PS3.18 §8.7.3.5): a multipart/related range
 * whose `type` is application/dicom and whose `transfer-syntax` is `*`, absent, or the stored
 * one. The sandbox never transcodes, so any other explicit syntax is not acceptable (406).
 */
function acceptsStoredDicom(ranges: AcceptedMediaRange[], instances: StoredInstance[]): boolean {
  return ranges.some((range) => {
    if (range.mediaType === '*/*') return true;
    if (range.mediaType !== 'multipart/related') return false;
    const type = (range.parameters.type ?? 'application/dicom').toLowerCase();
    if (type !== 'application/dicom') return false;
    const syntax = range.parameters['transfer-syntax'];
    return syntax === undefined || syntax === '*' || instances.every((i) => i.transferSyntaxUid === syntax);
  });
}

/** Fills in BulkDataURIs for the top-level binary attributes (PS3.18 §F.2.7). */
function metadataOf(base: string, instance: StoredInstance): DicomJsonDataset {
  const url = instanceUrl(base, instance);
  const out: DicomJsonDataset = {};
  for (const [tag, attribute] of Object.entries(instance.dataset)) {
    if (attribute.Value !== undefined || attribute.vr === 'SQ' || !instance.bulkData.has(tag)) {
      out[tag] = attribute;
      continue;
    }
    out[tag] = { vr: attribute.vr, BulkDataURI: `${url}/bulkdata/${tag}` };
  }
  return out;
}

/**
 * WADO-RS (DICOM PS3.18 §10.4): instances (study/series/instance level) as
 * `multipart/related; type="application/dicom"` returning the stored Part-10 bytes unchanged,
 * metadata as DICOM JSON with BulkDataURIs, frames, and bulk data.
 */
export async function registerWadoRoutes(app: FastifyInstance, options: WadoRouteOptions): Promise<void> {
  const find = (params: ResourceParams) => options.store.find(params.study, params.series, params.instance);

  const retrieveInstances = async (
    request: FastifyRequest<{ Params: ResourceParams }>,
    reply: FastifyReply,
  ) => {
    const instances = find(request.params);
    if (!instances.length)
      return sendDicomwebError(reply, 404, 'not-found', 'no such study, series or instance', 'url');
    if (!acceptsStoredDicom(parseAccept(request.headers.accept), instances)) {
      return sendDicomwebError(
        reply,
        406,
        'not-supported',
        'retrieve answers multipart/related; type="application/dicom" in the stored transfer syntax (no transcoding): ' +
          `use transfer-syntax=* or ${[...new Set(instances.map((i) => i.transferSyntaxUid))].join(', ')}`,
        'Accept',
      );
    }
    const base = options.baseUrl(request);
    const parts: MultipartPartInput[] = instances.map((i) => ({
      contentType: `application/dicom; transfer-syntax=${i.transferSyntaxUid}`,
      body: i.bytes,
      headers: { 'Content-Location': instanceUrl(base, i) },
    }));
    const { body, contentType } = buildMultipartRelated(parts, 'application/dicom');
    return reply.code(200).header('content-type', contentType).send(body);
  };

  const retrieveMetadata = async (
    request: FastifyRequest<{ Params: ResourceParams }>,
    reply: FastifyReply,
  ) => {
    const instances = find(request.params);
    if (!instances.length)
      return sendDicomwebError(reply, 404, 'not-found', 'no such study, series or instance', 'url');
    const accepted = parseAccept(request.headers.accept);
    if (
      !accepted.some(
        (r) => rangeCovers(r.mediaType, 'application/dicom+json') || r.mediaType === 'application/json',
      )
    ) {
      return sendDicomwebError(
        reply,
        406,
        'not-supported',
        'metadata is available as application/dicom+json only',
        'Accept',
      );
    }
    const base = options.baseUrl(request);
    return reply
      .code(200)
      .type('application/dicom+json')
      .send(JSON.stringify(instances.map((i) => metadataOf(base, i))));
  };

  const retrieveFrames = async (request: FastifyRequest<{ Params: ResourceParams }>, reply: FastifyReply) => {
    const [instance] = find(request.params);
    if (!instance) return sendDicomwebError(reply, 404, 'not-found', 'no such instance', 'url');
    const list = request.params.frames ?? '';
    if (!/^\d+(,\d+)*$/.test(list)) {
      return sendDicomwebError(
        reply,
        400,
        'invalid',
        'frame list must be comma-separated positive integers (PS3.18 §8.3.3.1)',
        'url.frames',
      );
    }
    if (!instance.frames || !instance.frameMediaType) {
      return sendDicomwebError(
        reply,
        404,
        'not-found',
        'this instance has no frame-addressable pixel data',
        'url.frames',
      );
    }
    const numbers = list.split(',').map(Number);
    const bad = numbers.find((n) => n < 1 || n > (instance.frames?.length ?? 0));
    if (bad !== undefined) {
      return sendDicomwebError(
        reply,
        404,
        'not-found',
        `frame ${bad} is outside 1..${instance.frames.length}`,
        'url.frames',
      );
    }
    const mediaType = instance.frameMediaType;
    const accepted = parseAccept(request.headers.accept).some((range) => {
      if (range.mediaType === '*/*') return true;
      if (range.mediaType !== 'multipart/related') return false;
      const type = (range.parameters.type ?? 'application/octet-stream').toLowerCase();
      const syntax = range.parameters['transfer-syntax'];
      return (
        rangeCovers(type, mediaType) &&
        (syntax === undefined || syntax === '*' || syntax === instance.transferSyntaxUid)
      );
    });
    if (!accepted) {
      return sendDicomwebError(
        reply,
        406,
        'not-supported',
        `frames are stored as ${mediaType} (transfer syntax ${instance.transferSyntaxUid}); the sandbox does not transcode`,
        'Accept',
      );
    }
    const url = instanceUrl(options.baseUrl(request), instance);
    const parts: MultipartPartInput[] = numbers.map((n) => ({
      contentType: `${mediaType}; transfer-syntax=${instance.transferSyntaxUid}`,
      body: (instance.frames as Buffer[])[n - 1] as Buffer,
      headers: { 'Content-Location': `${url}/frames/${n}` },
    }));
    const { body, contentType } = buildMultipartRelated(parts, mediaType);
    return reply.code(200).header('content-type', contentType).send(body);
  };

  const retrieveBulkData = async (
    request: FastifyRequest<{ Params: ResourceParams }>,
    reply: FastifyReply,
  ) => {
    const [instance] = find(request.params);
    const tag = (request.params.tag ?? '').toUpperCase();
    const bytes = instance?.bulkData.get(tag);
    if (!instance || !bytes)
      return sendDicomwebError(reply, 404, 'not-found', 'no such bulk data', 'url.tag');
    const { body, contentType } = buildMultipartRelated(
      [{ contentType: 'application/octet-stream', body: bytes }],
      'application/octet-stream',
    );
    return reply.code(200).header('content-type', contentType).send(body);
  };

  app.get('/studies/:study', { schema: { params: uidParamsSchema } }, retrieveInstances);
  app.get('/studies/:study/series/:series', { schema: { params: uidParamsSchema } }, retrieveInstances);
  app.get(
    '/studies/:study/series/:series/instances/:instance',
    { schema: { params: uidParamsSchema } },
    retrieveInstances,
  );
  app.get('/studies/:study/metadata', { schema: { params: uidParamsSchema } }, retrieveMetadata);
  app.get(
    '/studies/:study/series/:series/metadata',
    { schema: { params: uidParamsSchema } },
    retrieveMetadata,
  );
  app.get(
    '/studies/:study/series/:series/instances/:instance/metadata',
    { schema: { params: uidParamsSchema } },
    retrieveMetadata,
  );
  app.get(
    '/studies/:study/series/:series/instances/:instance/frames/:frames',
    { schema: { params: uidParamsSchema } },
    retrieveFrames,
  );
  app.get(
    '/studies/:study/series/:series/instances/:instance/bulkdata/:tag',
    { schema: { params: uidParamsSchema } },
    retrieveBulkData,
  );
}
