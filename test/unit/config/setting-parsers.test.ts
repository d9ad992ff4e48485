import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  parseBoolean,
  parseDurationMs,
  parseEnum,
  parseInteger,
  parseList,
  parseNumber,
  parseStringMap,
  parseUrl,
} from '../../../src/config/setting-parsers.js';

describe('setting parsers', () => {
  it('parseInteger accepts exactly the integers in range, from text or JSON numbers', () => {
    const parse = parseInteger({ min: 1, max: 100 });
    fc.assert(
      fc.property(fc.integer({ min: -1000, max: 1000 }), (n) => {
        const inRange = n >= 1 && n <= 100;
        expect(parse(String(n)).ok).toBe(inRange);
        expect(parse(n).ok).toBe(inRange);
      }),
    );
    expect(parse('5.0')).toEqual({ ok: false, expected: 'an integer from 1 to 100' });
    expect(parse(' 7 ')).toEqual({ ok: true, value: 7 });
    expect(parse(7.5).ok).toBe(false);
    expect(parse(true).ok).toBe(false);
  });

  it('parseNumber accepts finite decimals and exponents only', () => {
    const parse = parseNumber({ min: 0 });
    expect(parse('0.25')).toEqual({ ok: true, value: 0.25 });
    expect(parse('1e3')).toEqual({ ok: true, value: 1000 });
    for (const bad of ['', 'NaN', 'Infinity', '1,5', '-0.1', '0x10']) expect(parse(bad).ok, bad).toBe(false);
  });

  it('parseDurationMs converts units to whole milliseconds', () => {
    const parse = parseDurationMs({ min: 0 });
    expect(parse('250')).toEqual({ ok: true, value: 250 });
    expect(parse('250ms')).toEqual({ ok: true, value: 250 });
    expect(parse('1.5s')).toEqual({ ok: true, value: 1500 });
    expect(parse('2m')).toEqual({ ok: true, value: 120_000 });
    expect(parse('1h')).toEqual({ ok: true, value: 3_600_000 });
    for (const bad of ['0.5ms', '-1', '1d', 's', '1 s s']) expect(parse(bad).ok, bad).toBe(false);
  });

  it('parseBoolean knows the usual spellings and nothing else', () => {
    const parse = parseBoolean();
    for (const yes of ['true', 'TRUE', '1', 'yes', 'on', true])
      expect(parse(yes)).toEqual({ ok: true, value: true });
    for (const no of ['false', 'False', '0', 'no', 'off', false])
      expect(parse(no)).toEqual({ ok: true, value: false });
    for (const bad of ['', 'y', '2', 1]) expect(parse(bad).ok).toBe(false);
  });

  it('parseList splits, trims, drops empties and duplicates, and checks each item', () => {
    const parse = parseList({ parse: parseEnum(['cpu', 'cuda'] as const), expected: 'cpu or cuda' });
    expect(parse(' cuda , cpu,,cuda ')).toEqual({ ok: true, value: ['cuda', 'cpu'] });
    expect(parse(['cpu'])).toEqual({ ok: true, value: ['cpu'] });
    expect(parse('cpu,gpu')).toEqual({ ok: false, expected: 'a comma-separated list of cpu or cuda' });
    expect(parse([1]).ok).toBe(false);
  });

  it('parseStringMap takes JSON objects of non-empty strings', () => {
    const parse = parseStringMap();
    expect(parse('')).toEqual({ ok: true, value: {} });
    expect(parse({ a: 'b' })).toEqual({ ok: true, value: { a: 'b' } });
    for (const bad of ['[]', '{"a":""}', '{"a":1}', 'nope', ['a']]) expect(parse(bad).ok).toBe(false);
  });

  it('parseUrl keeps non-HTTP URLs as written', () => {
    const parse = parseUrl(['postgres:', 'postgresql:']);
    expect(parse('postgresql:///fhir_fusion?host=/var/run/postgresql')).toEqual({
      ok: true,
      value: 'postgresql:///fhir_fusion?host=/var/run/postgresql',
    });
    expect(parse('http://db/x').ok).toBe(false);
  });
});
