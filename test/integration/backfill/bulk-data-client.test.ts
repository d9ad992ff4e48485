import { describe, expect, it } from 'vitest';
import type { FetchLike } from '../../../src/contracts/fetch-like.js';
import { BulkDataError, kickOffExport, kickOffUrl, pollExport, retryAfterSeconds, streamNdjson } from '../../../src/backfill/bulk-data-client.js';
import { createProgressReporter, progressLine } from '../../../src/backfill/progress-reporter.js';
import { parseExportRequest } from '../../../src/sandbox/bulk-export/export-request.js';

function chunked(text: string, size: number): Response {
  const bytes = new TextEncoder().encode(text);
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      for (let i = 0; i < bytes.length; i += size) controller.enqueue(bytes.slice(i, i + size));
      controller.close();
    },
  });
  return new Response(stream, { status: 200, headers: { 'content-type': 'application/fhir+ndjson' } });
}

describe('Bulk Data client', () => {
  it('builds kick-off URLs for each level with _type, _since and _typeFilter', () => {
    expect(kickOffUrl('http://ehr/fhir/', { level: 'system' })).toBe('http://ehr/fhir/$export');
    expect(kickOffUrl('http://ehr/fhir', { level: 'group', groupId: 'g 1', types: ['Patient', 'Observation'] })).toBe(
      'http://ehr/fhir/Group/g%201/$export?_type=Patient%2CObservation',
    );
    const url = new URL(kickOffUrl('http://ehr/fhir', { level: 'patient', since: '2024-01-01T00:00:00Z', typeFilters: ['Observation?category=laboratory'] }));
    expect(url.searchParams.get('_since')).toBe('2024-01-01T00:00:00Z');
    expect(url.searchParams.getAll('_typeFilter')).toEqual(['Observation?category=laboratory']);
  });

  it('reads Retry-After as seconds or an HTTP-date, clamped', () => {
    expect(retryAfterSeconds('7', 1)).toBe(7);
    expect(retryAfterSeconds(null, 3)).toBe(3);
    expect(retryAfterSeconds('9999', 1, 120)).toBe(120);
    expect(retryAfterSeconds(new Date(Date.now() + 10_000).toUTCString(), 1)).toBeGreaterThan(8);
    expect(retryAfterSeconds('soon', 2)).toBe(2);
  });

  it('sends Prefer: respond-async on kick-off and resolves the Content-Location', async () => {
    let seen: Headers | undefined;
    const fetch: FetchLike = async (_url, init) => {
      seen = new Headers(init?.headers);
      return new Response(null, { status: 202, headers: { 'content-location': '/fhir/$export-status/1' } });
    };
    await expect(kickOffExport(fetch, 'http://ehr/fhir/Patient/$export')).resolves.toBe('http://ehr/fhir/$export-status/1');
    expect(seen?.get('prefer')).toBe('respond-async');
    const refused: FetchLike = async () =>
      new Response(JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ diagnostics: 'bad _type' }] }), { status: 400 });
    await expect(kickOffExport(refused, 'http://ehr/fhir/$export')).rejects.toThrow(/bad _type/);
  });

  it('polls honouring Retry-After until the manifest, and fails on an error status', async () => {
    const answers = [
      new Response(null, { status: 202, headers: { 'retry-after': '3', 'x-progress': '10%' } }),
      new Response(null, { status: 429, headers: { 'retry-after': '5' } }),
      new Response(JSON.stringify({ transactionTime: '2024-01-01T00:00:00Z', request: 'x', requiresAccessToken: true, output: [{ type: 'Patient', url: 'u' }] }), { status: 200 }),
    ];
    const waits: number[] = [];
    const progress: string[] = [];
    const manifest = await pollExport(async () => answers.shift() as Response, 'http://ehr/status', {
      sleep: async (ms) => void waits.push(ms),
      onProgress: (p) => progress.push(p),
    });
    expect(waits).toEqual([3000, 5000]);
    expect(progress).toEqual(['10%']);
    expect(manifest.output).toHaveLength(1);
    expect(manifest.error).toEqual([]);
    await expect(pollExport(async () => new Response('{}', { status: 500 }), 'http://ehr/status')).rejects.toBeInstanceOf(BulkDataError);
  });

  it('streams NDJSON across arbitrary chunk boundaries, multi-byte characters and a missing final newline', async () => {
    const resources = [
      { resourceType: 'Patient', id: 'a', name: [{ text: 'Zoë Ångström' }] },
      { resourceType: 'Observation', id: 'b' },
      { resourceType: 'Observation', id: 'c' },
    ];
    const text = `${resources.map((r) => JSON.stringify(r)).join('\n')}\n\n`.trimEnd();
    for (const size of [1, 3, 7, 1000]) {
      const out = [];
      for await (const r of streamNdjson(async () => chunked(text, size), 'http://ehr/file')) out.push(r);
      expect(out).toEqual(resources);
    }
    const broken = streamNdjson(async () => chunked('{"resourceType":"Patient"}\n{oops\n', 4), 'http://ehr/file');
    await expect((async () => { for await (const _ of broken) void _; })()).rejects.toThrow(/line 2/);
  });
});

describe('sandbox $export request parsing', () => {
  it('accepts _type, _since and _typeFilter, and names the offending parameter otherwise', () => {
    const ok = parseExportRequest('patient', { _type: 'Patient,Observation', _since: '2024-01-01T00:00:00Z', _typeFilter: 'Observation?code=8867-4' });
    expect(ok.ok && ok.value.types).toEqual(['Patient', 'Observation']);
    expect(ok.ok && ok.value.typeFilters).toEqual([{ resourceType: 'Observation', query: 'code=8867-4' }]);
    for (const [query, expression] of [
      [{ _type: 'Endpoint' }, '_type'],
      [{ _since: 'yesterday' }, '_since'],
      [{ _typeFilter: 'Condition?code=x' }, '_typeFilter'],
      [{ _outputFormat: 'text/csv' }, '_outputFormat'],
    ] as const) {
      const bad = parseExportRequest('patient', query);
      expect(bad.ok).toBe(false);
      if (!bad.ok) expect(bad.outcome.issue[0]?.expression).toEqual([expression]);
    }
  });
});

describe('backfill progress', () => {
  it('draws a bar with rate and ETA on a TTY, plain lines otherwise', () => {
    expect(progressLine({ phase: 'scoring', done: 250, total: 1000 }, 10, 10)).toBe('scoring [###.......] 250/1000 25% 25.0/s ETA 30s');
    const written: string[] = [];
    let t = 0;
    const plain = createProgressReporter({ write: (s: string) => written.push(s), isTTY: false }, { intervalMs: 1000, now: () => t });
    plain.update({ phase: 'scoring', done: 1, total: 3 });
    t = 500;
    plain.update({ phase: 'scoring', done: 2, total: 3 });
    t = 600;
    plain.update({ phase: 'scoring', done: 3, total: 3 });
    expect(written.every((s) => s.endsWith('\n') && !s.includes('\r'))).toBe(true);
    expect(written).toHaveLength(2);
    const tty: string[] = [];
    const bar = createProgressReporter({ write: (s: string) => tty.push(s), isTTY: true }, { now: () => 0 });
    bar.update({ phase: 'scoring', done: 0, total: 3 });
    expect(tty[0]).toMatch(/^\rscoring \[/);
  });
});
