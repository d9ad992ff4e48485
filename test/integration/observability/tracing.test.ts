import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import Fastify from 'fastify';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createTracedFetch, startTracing, tracingPlugin } from '../../../src/observability/tracing.js';

function memoryExporter(): SpanExporter & { spans: ReadableSpan[] } {
  const spans: ReadableSpan[] = [];
  return {
    spans,
    export(batch, done) {
      spans.push(...batch);
      done({ code: 0 });
    },
    shutdown: async () => undefined,
  };
}

describe('OpenTelemetry tracing: request spans continue traceparent, outbound EHR calls carry it', () => {
  it('joins the caller trace, makes the EHR call a child span and sends its traceparent', async () => {
    const received: Array<string | undefined> = [];
    const ehr = createServer((request, response) => {
      received.push(request.headers.traceparent as string | undefined);
      response.end('{}');
    });
    await new Promise<void>((resolve) => ehr.listen(0, '127.0.0.1', resolve));
    const ehrUrl = `http://127.0.0.1:${(ehr.address() as AddressInfo).port}/fhir/metadata`;

    const exporter = memoryExporter();
    const tracing = startTracing({ exporter });
    const outbound = createTracedFetch(tracing.tracer);
    const app = Fastify();
    await app.register(tracingPlugin, { tracer: tracing.tracer });
    app.post('/intake/:key', async () => {
      await (await outbound(ehrUrl)).text();
      return { ok: true };
    });
    await app.ready();

    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const callerSpan = '00f067aa0ba902b7';
    const response = await app.inject({ method: 'POST', url: '/intake/observation', headers: { traceparent: `00-${traceId}-${callerSpan}-01` }, payload: {} });
    expect(response.statusCode).toBe(200);
    await app.close();
    await tracing.shutdown();
    await new Promise<void>((resolve) => ehr.close(() => resolve()));

    const server = exporter.spans.find((s) => s.name === 'HTTP POST /intake/:key');
    const client = exporter.spans.find((s) => s.name === 'HTTP GET');
    expect(server?.spanContext().traceId).toBe(traceId);
    expect(server?.parentSpanContext?.spanId).toBe(callerSpan);
    expect(client?.spanContext().traceId).toBe(traceId);
    expect(client?.parentSpanContext?.spanId).toBe(server?.spanContext().spanId);
    expect(client?.attributes['server.address']).toBe(new URL(ehrUrl).host);
    expect(received).toEqual([`00-${traceId}-${client?.spanContext().spanId}-01`]);
  });

  it('starts a new trace for an outbound call made outside any request (e.g. a job)', async () => {
    const exporter = memoryExporter();
    const tracing = startTracing({ exporter });
    const seen: Headers[] = [];
    const outbound = createTracedFetch(tracing.tracer, async (_input, init) => {
      seen.push(new Headers(init?.headers));
      return new Response(null, { status: 503 });
    });
    await outbound('http://ehr.example/fhir/Patient/p1');
    await tracing.shutdown();
    expect(seen[0]?.get('traceparent')).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(exporter.spans[0]?.status.code).toBe(2);
    expect(exporter.spans[0]?.attributes['http.response.status_code']).toBe(503);
  });
});
