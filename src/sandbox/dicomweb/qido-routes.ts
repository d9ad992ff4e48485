import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { parseAccept, rangeCovers } from './accept-header.js';
import type { Part10Reader } from './dcmjs-reader.js';
import type { DicomStore } from './dicom-store.js';
import { sendDicomwebError } from './dicomweb-errors.js';
import { uidParamsSchema } from './route-schemas.js';
import { parseQidoQuery, type QidoLevel } from './qido-query.js';
import { searchQido } from './qido-search.js';

/** What the QIDO-RS routes need. */
export interface QidoRouteOptions {
  store: DicomStore;
  reader: Part10Reader;
  baseUrl(request: { protocol: string; host: string }): string;
}

interface ScopeParams {
  study?: string;
  series?: string;
}

/**
 * QIDO-RS (DICOM PS3.18 §10.6): search for studies, series and instances, answering
 * `application/dicom+json` (`application/json` accepted as a synonym, PS3.18 §8.7.5).
 */
export async function registerQidoRoutes(app: FastifyInstance, options: QidoRouteOptions): Promise<void> {
  const search =
    (level: QidoLevel) => async (request: FastifyRequest<{ Params: ScopeParams }>, reply: FastifyReply) => {
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
          'QIDO-RS answers application/dicom+json only',
          'Accept',
        );
      }
      const parsed = parseQidoQuery(request.query as Record<string, string | string[]>, options.reader);
      if (!parsed.ok)
        return sendDicomwebError(reply, 400, 'invalid', parsed.message, `query.${parsed.parameter}`);
      const { study, series } = request.params;
      const all = options.store.all();
      const scoped = all.filter(
        (i) =>
          (study === undefined || i.studyInstanceUid === study) &&
          (series === undefined || i.seriesInstanceUid === series),
      );
      const { results, total } = searchQido(scoped, all, level, parsed.value, options.baseUrl(request));
      if (parsed.value.limit !== undefined && parsed.value.offset + results.length < total) {
        // PS3.18 §8.3.4.4: tell the client there are more results to page through.
        reply.header(
          'Warning',
          '299 fhir-fusion-sandbox: "There are additional results that can be requested"',
        );
      }
      return reply.code(200).type('application/dicom+json').send(JSON.stringify(results));
    };
  app.get('/studies', { schema: { params: uidParamsSchema } }, search('study'));
  app.get('/series', { schema: { params: uidParamsSchema } }, search('series'));
  app.get('/instances', { schema: { params: uidParamsSchema } }, search('instance'));
  app.get('/studies/:study/series', { schema: { params: uidParamsSchema } }, search('series'));
  app.get('/studies/:study/instances', { schema: { params: uidParamsSchema } }, search('instance'));
  app.get(
    '/studies/:study/series/:series/instances',
    { schema: { params: uidParamsSchema } },
    search('instance'),
  );
}
