import type { Bundle, BundleEntry, DiagnosticReport, Patient } from '@medplum/fhirtypes';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { outcome, type IssueCode } from '../fhir/operation-outcome.js';
import { errorResponses, fhirResourceSchema } from '../http/route-schemas.js';
import { readGrant, TokenVerificationUnavailableError, type CallerAuthorization, type CallerTokenVerifier } from '../security/caller-token.js';
import { labelSimilarCases, type EmbeddingModelResources } from './ai-transparency-label.js';
import type { CaseIndex } from './case-index.js';
import type { EmbeddingModel } from './embedding-model.js';
import { readAsCaller, type FetchLike } from './ehr-reader.js';
import { neighboursToFetch, similarCasesOf, visibleNeighbours, type VisibleNeighbour } from './visible-neighbours.js';
import { withoutTrailingSlash } from '../contracts/base-url.js';

/** Options for {@link similarCasesRoutes}. */
export interface SimilarCasesRoutesOptions {
  index: CaseIndex;
  model: Pick<EmbeddingModel, 'embedText' | 'key'>;
  /** The model's Device and card, included in every answer with its AI labels. */
  modelResources: EmbeddingModelResources;
  /** The EHR's FHIR base URL; every read uses the caller's token. */
  fhirBaseUrl: string;
  fetch: FetchLike;
  /**
   * Checks the caller's bearer token before anything is read (RFC 7662 introspection against the
   * EHR in production): fhir-fusion never relies on the EHR alone to refuse a caller.
   */
  verifyToken: CallerTokenVerifier;
  /** Largest `_count` accepted (default 20). */
  maxCount?: number;
}

const FHIR_JSON = 'application/fhir+json; charset=utf-8';

/**
 * The operations' parameters and answers (FHIR R4 §2.21.0.4 Operation invocation). Parameter
 * values are checked by the handler after the caller's token is (it names `_count`, `text` and
 * `Patient.id` in its OperationOutcome), so the schema types them as strings only.
 */
const countParameter = { type: 'string', description: 'Number of neighbours, 1 to the configured maximum (default 5).' } as const;
const searchsetResponse = {
  200: fhirResourceSchema('Bundle', 'searchset Bundle of the neighbours\' ECG reports; search.score is the cosine similarity.'),
  ...errorResponses,
} as const;
const similarCasesSchema = {
  params: { type: 'object', required: ['id'], properties: { id: { type: 'string', description: 'Patient id on the EHR.' } } },
  querystring: { type: 'object', properties: { _count: countParameter } },
  response: searchsetResponse,
} as const;
const similarEcgsSchema = {
  querystring: {
    type: 'object',
    properties: { text: { type: 'string', description: 'Free-text ECG description, 1 to 500 characters.' }, _count: countParameter },
  },
  response: searchsetResponse,
} as const;

function fail(reply: FastifyReply, status: number, code: IssueCode, diagnostics: string, expression?: string): FastifyReply {
  return reply.code(status).type(FHIR_JSON).send(outcome(code, diagnostics, expression));
}

function bearer(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  const match = typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  return match?.[1];
}

function parseCount(raw: unknown, max: number): number | undefined {
  if (raw === undefined) return 5;
  if (typeof raw !== 'string' || !/^\d{1,3}$/.test(raw)) return undefined;
  const n = Number(raw);
  return n >= 1 && n <= max ? n : undefined;
}

/**
 * FHIR operations for similar-case retrieval (FHIR R4 §2.21 "Extending REST with operations"):
 *
 * - `GET /fhir-fusion/Patient/{id}/$similar-cases?_count=k`: the k past patients whose ECG
 *   embedding is nearest this patient's, never the patient themself.
 * - `GET /fhir-fusion/$similar-ecgs?text=...&_count=k`: past ECGs nearest a free-text description.
 *
 * Both answer a `searchset` Bundle of the neighbours' ECG interpretation reports (their
 * `conclusion`/`conclusionCode` are the diagnoses), `search.score` = cosine similarity, labelled as
 * AI output with the model's Device and card included ({@link labelSimilarCases}), each read
 * through the EHR with the caller's bearer token: a neighbour the caller may not read is left out,
 * and the query patient must itself be readable. Errors are OperationOutcomes with the element
 * path in `issue.expression`.
 */
export async function similarCasesRoutes(fastify: FastifyInstance, options: SimilarCasesRoutesOptions): Promise<void> {
  const maxCount = options.maxCount ?? 20;

  type Caller = { ok: true; token: string; auth: Extract<CallerAuthorization, { active: true }> } | { ok: false; reply: FastifyReply };
  /** Authenticates the caller itself (issue 18.3): missing or inactive token → 401, EHR unreachable → 503. */
  async function authenticate(request: FastifyRequest, reply: FastifyReply): Promise<Caller> {
    const token = bearer(request);
    if (!token) return { ok: false, reply: fail(reply, 401, 'login', 'a bearer token is required', 'Authorization') };
    let auth: CallerAuthorization;
    try {
      auth = await options.verifyToken(token);
    } catch (error) {
      if (!(error instanceof TokenVerificationUnavailableError)) throw error;
      request.log.warn({ err: { name: error.name, message: error.message } }, 'caller token could not be verified');
      return { ok: false, reply: fail(reply, 503, 'transient', 'the bearer token cannot be verified right now', 'Authorization') };
    }
    if (!auth.active) {
      void reply.header('www-authenticate', 'Bearer error="invalid_token"');
      return { ok: false, reply: fail(reply, 401, 'login', 'the bearer token is not active', 'Authorization') };
    }
    return { ok: true, token, auth };
  }

  const readerFor = (token: string) => async (reference: string): Promise<DiagnosticReport | undefined> => {
    const read = await readAsCaller<DiagnosticReport>(options.fetch, options.fhirBaseUrl, reference, token);
    return read.ok ? read.value : undefined; // not visible to this caller (401/403/404): never disclosed
  };

  function bundleOf(neighbours: VisibleNeighbour[], selfUrl: string): Bundle {
    const entry: BundleEntry[] = neighbours.map(({ hit, reportRef, report }) => ({
      fullUrl: `${withoutTrailingSlash(options.fhirBaseUrl)}/${reportRef}`,
      resource: report,
      search: { mode: 'match', score: Math.round(hit.similarity * 1e4) / 1e4 },
    }));
    // total counts the matches only (R4 Bundle.total), not the model's Device and card included after them.
    return labelSimilarCases(
      {
        resourceType: 'Bundle',
        type: 'searchset',
        total: entry.length,
        link: [{ relation: 'self', url: selfUrl }],
        meta: { tag: [{ system: 'https://fhir-fusion.dev/embedding-model', code: options.model.key }] },
        entry,
      },
      options.modelResources,
    );
  }

  fastify.get<{ Params: { id: string }; Querystring: Record<string, unknown> }>(
    '/fhir-fusion/Patient/:id/$similar-cases',
    { schema: similarCasesSchema },
    async (request, reply) => {
      const caller = await authenticate(request, reply);
      if (!caller.ok) return caller.reply;
      const { token, auth } = caller;
      const { id } = request.params;
      if (!/^[A-Za-z0-9\-.]{1,64}$/.test(id)) return fail(reply, 400, 'value', 'invalid Patient id', 'Patient.id');
      // SMART scopes, checked here before the index is touched: read on the patient and on the
      // reports; a patient/ scope only for the patient in context.
      for (const type of ['Patient', 'DiagnosticReport']) {
        const grant = readGrant(auth.scopes, type, auth.patient);
        if (grant.kind === 'none') return fail(reply, 403, 'forbidden', `the token's scopes do not allow reading ${type}`, 'Authorization');
        if (grant.kind === 'patient' && grant.patient !== id) {
          return fail(reply, 403, 'forbidden', 'the token is limited to another patient', 'Patient.id');
        }
      }
      const count = parseCount(request.query._count, maxCount);
      if (count === undefined) return fail(reply, 400, 'value', `_count must be an integer from 1 to ${maxCount}`, '_count');
      const patient = await readAsCaller<Patient>(options.fetch, options.fhirBaseUrl, `Patient/${id}`, token);
      if (!patient.ok) {
        if (patient.status === 401) return fail(reply, 401, 'login', 'the EHR did not accept the bearer token', 'Authorization');
        if (patient.status === 403) return fail(reply, 403, 'forbidden', 'the token does not allow reading this patient', 'Patient.id');
        return fail(reply, 404, 'not-found', 'patient not found on the EHR', 'Patient.id');
      }
      const neighbours = await similarCasesOf(options.index, `Patient/${id}`, count, readerFor(token));
      if (!neighbours) return fail(reply, 404, 'not-found', 'this patient has no indexed ECG yet', 'Patient.id');
      return reply.type(FHIR_JSON).send(bundleOf(neighbours, request.url));
    },
  );

  fastify.get<{ Querystring: Record<string, unknown> }>('/fhir-fusion/$similar-ecgs', { schema: similarEcgsSchema }, async (request, reply) => {
    const caller = await authenticate(request, reply);
    if (!caller.ok) return caller.reply;
    const { token, auth } = caller;
    // Free-text search spans every patient's ECGs: a patient-limited token may not ask it.
    if (readGrant(auth.scopes, 'DiagnosticReport', auth.patient).kind !== 'any') {
      return fail(reply, 403, 'forbidden', "the token's scopes do not allow reading other patients' DiagnosticReports", 'Authorization');
    }
    const text = request.query.text;
    if (typeof text !== 'string' || text.trim() === '' || text.length > 500)
      return fail(reply, 400, 'required', 'text is required (1 to 500 characters)', 'text');
    const count = parseCount(request.query._count, maxCount);
    if (count === undefined) return fail(reply, 400, 'value', `_count must be an integer from 1 to ${maxCount}`, '_count');
    const [embedding] = await options.model.embedText([text]);
    const hits = await options.index.nearestEcgToText(embedding!, neighboursToFetch(count));
    return reply.type(FHIR_JSON).send(bundleOf(await visibleNeighbours(hits, count, readerFor(token)), request.url));
  });
}
