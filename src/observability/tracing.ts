import type { Context, Span, Tracer } from '@opentelemetry/api';
import { context, defaultTextMapGetter, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { FetchLike } from '../contracts/fetch-like.js';
import type { Logger } from './create-logger.js';

/** W3C Trace Context (https://www.w3.org/TR/trace-context/) `traceparent` / `tracestate`. */
const propagator = new W3CTraceContextPropagator();

/** A started tracer and how to flush it at shutdown. */
export interface Tracing {
  tracer: Tracer;
  shutdown(): Promise<void>;
}

/**
 * Exports finished spans as JSON log lines (`msg: "span"`) through the server's logger, so traces
 * need no extra collector to be useful; attributes carry only method, route template, status and
 * host — never URLs with patient ids or bodies.
 */
export function createLogSpanExporter(logger: Logger): SpanExporter {
  return {
    export(spans: ReadableSpan[], done) {
      for (const span of spans) {
        const parent = span.parentSpanContext?.spanId;
        logger.info(
          {
            traceId: span.spanContext().traceId,
            spanId: span.spanContext().spanId,
            parentSpanId: parent,
            span: span.name,
            kind: SpanKind[span.kind],
            durationMs: span.duration[0] * 1000 + span.duration[1] / 1e6,
            status: span.status.code === SpanStatusCode.ERROR ? 'error' : 'ok',
            attributes: span.attributes,
          },
          'span',
        );
      }
      done({ code: 0 });
    },
    shutdown: async () => undefined,
  };
}

/**
 * Starts the OpenTelemetry SDK tracer. OpenTelemetry's context manager is process-global by
 * design (the API keeps one); it is installed once and reused by later calls (tests start several).
 */
export function startTracing(options: { exporter: SpanExporter; serviceName?: string }): Tracing {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(options.exporter)] });
  return { tracer: provider.getTracer(options.serviceName ?? 'fhir-fusion'), shutdown: () => provider.shutdown() };
}

/**
 * Wraps the base `fetch` with a CLIENT span per outbound call and sends the span's `traceparent`
 * (W3C Trace Context §3.2) to the EHR/PACS, so their logs join the same trace.
 */
export function createTracedFetch(tracer: Tracer, base: FetchLike = fetch): FetchLike {
  return async (input, init) => {
    const url = new URL(typeof input === 'string' ? input : input.toString());
    const method = (init?.method ?? 'GET').toUpperCase();
    const span = tracer.startSpan(`HTTP ${method}`, {
      kind: SpanKind.CLIENT,
      attributes: { 'http.request.method': method, 'server.address': url.host },
    });
    const headers = new Headers(init?.headers);
    propagator.inject(trace.setSpan(context.active(), span), headers, {
      set: (carrier, key, value) => carrier.set(key, value),
    });
    try {
      const response = await base(input, { ...init, headers });
      span.setAttribute('http.response.status_code', response.status);
      if (response.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      return response;
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).name });
      throw error;
    } finally {
      span.end();
    }
  };
}

const REQUEST_SPAN = Symbol('fhir-fusion.span');
type TracedRequest = FastifyRequest & { [REQUEST_SPAN]?: Span };

/**
 * A SERVER span per HTTP request, continuing the caller's `traceparent` (e.g. the EHR delivering a
 * notification). The rest of the request (handler, inbox write, outbound calls) runs inside the
 * span's context, so their spans are its children.
 */
async function tracingHooks(app: FastifyInstance, options: { tracer: Tracer }): Promise<void> {
  app.addHook('onRequest', (request, _reply, done) => {
    const parent: Context = propagator.extract(ROOT_CONTEXT, request.headers, defaultTextMapGetter);
    const route = request.routeOptions.url ?? 'unmatched';
    const span = options.tracer.startSpan(
      `HTTP ${request.method} ${route}`,
      { kind: SpanKind.SERVER, attributes: { 'http.request.method': request.method, 'http.route': route } },
      parent,
    );
    (request as TracedRequest)[REQUEST_SPAN] = span;
    context.with(trace.setSpan(parent, span), done);
  });
  app.addHook('onResponse', async (request, reply) => {
    const span = (request as TracedRequest)[REQUEST_SPAN];
    if (!span) return;
    span.setAttribute('http.response.status_code', reply.statusCode);
    if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
  });
}

/** Registers the request spans server-wide; register before routes, only when tracing is on. */
export const tracingPlugin = fp(tracingHooks, { name: 'fhir-fusion-tracing', fastify: '5.x' });

