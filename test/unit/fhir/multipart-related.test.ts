import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MultipartParseError,
  buildMultipartRelated,
  parseMediaType,
  parseMultipartRelated,
} from '../../../src/fhir/multipart-related.js';

describe('parseMediaType', () => {
  it('reads quoted and unquoted parameters, with escapes', () => {
    expect(parseMediaType('Multipart/Related; type="application/dicom"; boundary=abc')).toEqual({
      mediaType: 'multipart/related',
      parameters: { type: 'application/dicom', boundary: 'abc' },
    });
    expect(parseMediaType('multipart/related;boundary="a;b\\"c";type=application/dicom').parameters).toEqual({
      boundary: 'a;b"c',
      type: 'application/dicom',
    });
  });
});

describe('parseMultipartRelated', () => {
  it('round-trips arbitrary binary parts through buildMultipartRelated', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { minLength: 1, maxLength: 5 }), (bodies) => {
        const { body, contentType } = buildMultipartRelated(
          bodies.map((b) => ({
            contentType: 'application/dicom',
            body: b,
            headers: { 'Content-Location': 'x' },
          })),
          'application/dicom',
        );
        const parts = parseMultipartRelated(body, contentType);
        expect(parts.map((p) => Buffer.from(p.body).toString('hex'))).toEqual(
          bodies.map((b) => Buffer.from(b).toString('hex')),
        );
        expect(
          parts.every(
            (p) => p.headers['content-type'] === 'application/dicom' && p.headers['content-location'] === 'x',
          ),
        ).toBe(true);
      }),
    );
  });

  it('accepts a quoted boundary, a preamble, an epilogue and LF-only line ends', () => {
    const body = Buffer.from('preamble\n--b 1\nContent-Type: text/plain\n\nhello\n--b 1--\nepilogue');
    const parts = parseMultipartRelated(body, 'multipart/related; boundary="b 1"');
    expect(parts).toHaveLength(1);
    expect(parts[0]?.body.toString()).toBe('hello');
  });

  it('does not split on the boundary string inside a part body', () => {
    const body = Buffer.from('--xyz\r\n\r\nabc--xyzdef\r\n--xyz--');
    expect(parseMultipartRelated(body, 'multipart/related; boundary=xyz')[0]?.body.toString()).toBe(
      'abc--xyzdef',
    );
  });

  it('names what is wrong', () => {
    const attempt = (body: string, type: string) => {
      try {
        parseMultipartRelated(Buffer.from(body), type);
        return undefined;
      } catch (error) {
        return error instanceof MultipartParseError ? error.where : 'other';
      }
    };
    expect(attempt('x', 'application/dicom')).toBe('Content-Type');
    expect(attempt('x', 'multipart/related')).toBe('Content-Type');
    expect(attempt('no delimiter', 'multipart/related; boundary=q')).toBe('body');
    expect(attempt('--q\r\nContent-Type: a\r\n\r\nbody', 'multipart/related; boundary=q')).toBe(
      'body.part[0]',
    );
    expect(attempt('--q\r\nno-colon-header\r\n\r\nbody\r\n--q--', 'multipart/related; boundary=q')).toBe(
      'body.part[0]',
    );
  });
});
