import { describe, expect, it } from 'vitest';
import { createDcmjsReader } from '../../../../src/sandbox/dicomweb/dcmjs-reader.js';
import { matchesValue, parseQidoQuery } from '../../../../src/sandbox/dicomweb/qido-query.js';

const reader = createDcmjsReader();

describe('parseQidoQuery', () => {
  it('resolves keywords and tags, includefield lists, limit and offset', () => {
    const parsed = parseQidoQuery(
      { PatientID: 'P1', '00080060': 'CR', includefield: ['00180015,ViewPosition'], limit: '5', offset: '2' },
      reader,
    );
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.value.filters).toEqual([
      { tag: '00100020', vr: 'LO', value: 'P1' },
      { tag: '00080060', vr: 'CS', value: 'CR' },
    ]);
    expect(parsed.value.includeFields).toEqual(['00180015', '00185101']);
    expect(parsed.value).toMatchObject({ limit: 5, offset: 2 });
  });

  it('names the bad parameter', () => {
    expect(parseQidoQuery({ limit: '-1' }, reader)).toMatchObject({ ok: false, parameter: 'limit' });
    expect(parseQidoQuery({ Bogus: 'x' }, reader)).toMatchObject({ ok: false, parameter: 'Bogus' });
    expect(parseQidoQuery({ '00400275.00321060': 'x' }, reader)).toMatchObject({
      ok: false,
      parameter: '00400275.00321060',
    });
    expect(parseQidoQuery({ includefield: 'Nope' }, reader)).toMatchObject({
      ok: false,
      parameter: 'includefield',
    });
  });
});

describe('matchesValue (PS3.4 §C.2.2.2)', () => {
  it('does universal, single value, wildcard, UID list and range matching', () => {
    expect(matchesValue({ tag: '00100020', vr: 'LO', value: '' }, [], false)).toBe(true);
    expect(matchesValue({ tag: '00100020', vr: 'LO', value: 'AB' }, ['AB'], false)).toBe(true);
    expect(matchesValue({ tag: '00100020', vr: 'LO', value: 'ab' }, ['AB'], false)).toBe(false);
    expect(matchesValue({ tag: '00100020', vr: 'LO', value: 'A?C*' }, ['ABCDEF'], false)).toBe(true);
    expect(matchesValue({ tag: '00100010', vr: 'PN', value: 'doe^*' }, ['Doe^John'], false)).toBe(true);
    expect(matchesValue({ tag: '0020000D', vr: 'UI', value: '1.2,1.3' }, ['1.3'], false)).toBe(true);
    expect(matchesValue({ tag: '0020000D', vr: 'UI', value: '1.2\\1.4' }, ['1.3'], false)).toBe(false);
    expect(matchesValue({ tag: '00080020', vr: 'DA', value: '20200101-20201231' }, ['20200615'], false)).toBe(
      true,
    );
    expect(matchesValue({ tag: '00080020', vr: 'DA', value: '-20191231' }, ['20200615'], false)).toBe(false);
    expect(matchesValue({ tag: '00080020', vr: 'DA', value: '20200101-' }, ['20200615'], false)).toBe(true);
  });
});
