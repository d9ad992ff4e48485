import type { FastifyError, FastifyInstance, FastifyPluginAsync } from 'fastify';
import { createDcmjsReader, type Part10Reader } from './dcmjs-reader.js';
import { createDicomStore, type DicomStore } from './dicom-store.js';
import { sendDicomwebError } from './dicomweb-errors.js';
import { registerQidoRoutes } from './qido-routes.js';
import { registerStowRoutes } from './stow-routes.js';
import { registerWadoRoutes } from './wado-routes.js';
import { withoutTrailingSlash } from '../../contracts/base-url.js';

/** Options of {@link dicomwebPlugin}. */
export interface DicomwebPluginOptions {
  /** Path the DICOMweb service is mounted at, e.g. `/dicomweb`. */
  prefix: string;
  /** Instance storage; a fresh in-memory store when omitted. Pass one in to share or pre-load it. */
  store?: DicomStore;
  /** Absolute service base URL for RetrieveURL/BulkDataURI; derived from each request when omitted. */
  publicBaseUrl?: string;
  /** Largest STOW-RS body accepted, in bytes (default 512 MiB). */
  bodyLimit?: number;
}

/**
 * The sandbox PACS: a DICOMweb origin server (DICOM PS3.18) with STOW-RS, QIDO-RS and WADO-RS
 * over an in-memory store. Register it with fastify's `prefix` option set to `options.prefix`
 * (fastify applies it), e.g. `app.register(dicomwebPlugin, { prefix: '/dicomweb' })`.
 * Encapsulated: its content-type parsers do not leak into the rest of the app.
 */
export const dicomwebPlugin: FastifyPluginAsync<DicomwebPluginOptions> = async (
  app: FastifyInstance,
  options: DicomwebPluginOptions,
) => {
  const store = options.store ?? createDicomStore();
  const reader: Part10Reader = createDcmjsReader();
  const prefix = withoutTrailingSlash(options.prefix);
  const baseUrl = (request: { protocol: string; host: string }): string =>
    options.publicBaseUrl === undefined
      ? `${request.protocol}://${request.host}${prefix}`
      : withoutTrailingSlash(options.publicBaseUrl);

  // STOW-RS bodies are binary multipart; keep them as Buffers for the multipart parser.
  app.addContentTypeParser(
    '*',
    { parseAs: 'buffer', bodyLimit: options.bodyLimit ?? 512 * 1024 * 1024 },
    (_request, body, done) => {
      done(null, body);
    },
  );
  // Errors leave as OperationOutcomes naming the element at fault, like every other HTTP boundary.
  app.setErrorHandler((error: FastifyError, _request, reply) => {
    if (error.validation) {
      const first = error.validation[0];
      const where = `url.${String(first?.instancePath ?? '').replace(/^\//, '') || 'params'}`;
      return sendDicomwebError(
        reply,
        400,
        'invalid',
        `invalid ${where}: ${first?.message ?? error.message}`,
        where,
      );
    }
    const status =
      error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    return sendDicomwebError(
      reply,
      status,
      status === 413 ? 'processing' : status === 500 ? 'processing' : 'invalid',
      status === 500 ? 'internal error' : error.message,
    );
  });
  app.setNotFoundHandler((_request, reply) =>
    sendDicomwebError(reply, 404, 'not-found', 'no such DICOMweb resource (PS3.18 §10.4–10.6)', 'url'),
  );
  await registerStowRoutes(app, { store, reader, baseUrl });
  await registerQidoRoutes(app, { store, reader, baseUrl });
  await registerWadoRoutes(app, { store, baseUrl });
};
