import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { OperationOutcome } from '@medplum/fhirtypes';
import { outcome } from '../../fhir/operation-outcome.js';
import type { SandboxRepository } from '../ehr/sandbox-repository.js';
import { createExportJobs } from './export-jobs.js';
import type { ExportRequest } from './export-request.js';
import { parseExportRequest } from './export-request.js';

/** Options of {@link bulkExportPlugin}. */
export interface BulkExportPluginOptions {
  /** The sandbox EHR's store (`SandboxEhr.repo`). */
  repo: SandboxRepository;
  /** Resources per NDJSON file (default 1000). */
  linesPerFile?: number;
  /** Time an export stays in progress, in ms (default 0; tests raise it to exercise polling). */
  minDurationMs?: number;
  /** Seconds sent in `Retry-After` while in progress (default 1). */
  retryAfterSeconds?: number;
  /** Same hook as the FHIR API's: throw an error with `statusCode` 401/403 to refuse. */
  authorize?: (request: FastifyRequest) => Promise<void>;
}

type Query = Record<string, string | string[] | undefined>;

function sendOutcome(reply: FastifyReply, status: number, body: OperationOutcome): FastifyReply {
  return reply.code(status).header('content-type', 'application/fhir+json').send(body);
}

/**
 * The sandbox's FHIR Bulk Data Access 2.0 export (https://hl7.org/fhir/uv/bulkdata/export.html):
 * `[base]/$export`, `[base]/Patient/$export`, `[base]/Group/[id]/$export` kick-off (202 +
 * `Content-Location`), the status endpoint (202 + `Retry-After` + `X-Progress` while running, 200
 * with the completion manifest when done, DELETE to cancel), and NDJSON file downloads. Register
 * it with the FHIR API's prefix: `app.register(bulkExportPlugin, { prefix: '/fhir', repo })`.
 */
export const bulkExportPlugin: FastifyPluginAsync<BulkExportPluginOptions> = async (
  app: FastifyInstance,
  options: BulkExportPluginOptions,
) => {
  const jobs = createExportJobs({ repo: options.repo, linesPerFile: options.linesPerFile, minDurationMs: options.minDurationMs });
  const retryAfter = String(options.retryAfterSeconds ?? 1);
  const base = (request: FastifyRequest): string => `${request.protocol}://${request.host}${app.prefix}`;
  if (options.authorize) {
    const authorize = options.authorize;
    app.addHook('onRequest', async (request) => authorize(request));
  }

  const kickOff = async (request: FastifyRequest, reply: FastifyReply, level: ExportRequest['level'], groupId?: string) => {
    // §Kick-off Request Headers: Accept application/fhir+json, Prefer respond-async (required).
    const prefer = String(request.headers.prefer ?? '');
    if (!/respond-async/.test(prefer)) {
      return sendOutcome(reply, 400, outcome('invalid', 'Prefer: respond-async is required', 'Prefer'));
    }
    const accept = String(request.headers.accept ?? 'application/fhir+json');
    if (!/application\/fhir\+json|application\/json|\*\/\*/.test(accept)) {
      return sendOutcome(reply, 400, outcome('not-supported', 'Accept must be application/fhir+json', 'Accept'));
    }
    if (groupId !== undefined && !options.repo.peek('Group', groupId)) {
      return sendOutcome(reply, 404, outcome('not-found', `Group/${groupId} not found`, 'Group.id'));
    }
    const parsed = parseExportRequest(level, request.query as Query, groupId);
    if (!parsed.ok) return sendOutcome(reply, 400, parsed.outcome);
    const job = jobs.start(parsed.value, `${base(request)}${request.url.slice(app.prefix.length)}`);
    return reply.code(202).header('content-location', `${base(request)}/$export-status/${job.id}`).send();
  };

  app.get('/$export', (request, reply) => kickOff(request, reply, 'system'));
  app.get('/Patient/$export', (request, reply) => kickOff(request, reply, 'patient'));
  app.get<{ Params: { id: string } }>('/Group/:id/$export', (request, reply) => kickOff(request, reply, 'group', request.params.id));

  app.get<{ Params: { id: string } }>('/$export-status/:id', async (request, reply) => {
    const job = jobs.get(request.params.id);
    if (!job) return sendOutcome(reply, 404, outcome('not-found', 'no such export', 'id'));
    if (job.state === 'failed') return sendOutcome(reply, 500, outcome('exception', job.error ?? 'export failed'));
    if (job.state === 'running' || Date.now() < job.readyAt) {
      return reply.code(202).header('retry-after', retryAfter).header('x-progress', 'in progress').send();
    }
    const files = (type: string) => job.files.map((f, i) => ({ f, i })).filter(({ f }) => f.type === type);
    const output = job.request.types.flatMap((type) =>
      files(type).map(({ f, i }) => ({ type, url: `${base(request)}/$export-file/${job.id}/${i}`, count: f.lines.length })),
    );
    // Expires keeps clients from caching the manifest past the files' lifetime.
    return reply
      .code(200)
      .header('content-type', 'application/json')
      .header('expires', new Date(Date.now() + 3_600_000).toUTCString())
      .send({
        transactionTime: job.transactionTime,
        request: job.requestUrl,
        requiresAccessToken: Boolean(options.authorize),
        output,
        error: [],
      });
  });

  app.delete<{ Params: { id: string } }>('/$export-status/:id', async (request, reply) => {
    if (!jobs.delete(request.params.id)) return sendOutcome(reply, 404, outcome('not-found', 'no such export', 'id'));
    return reply.code(202).send();
  });

  app.get<{ Params: { id: string; n: string } }>('/$export-file/:id/:n', async (request, reply) => {
    const file = jobs.get(request.params.id)?.files[Number(request.params.n)];
    if (!file) return sendOutcome(reply, 404, outcome('not-found', 'no such export file', 'n'));
    reply.header('content-type', 'application/fhir+ndjson');
    // Streamed line by line, so a large file is never one string.
    const lines = file.lines;
    const { Readable } = await import('node:stream');
    return reply.send(Readable.from((function* () {
      for (const line of lines) yield `${line}\n`;
    })()));
  });
};
