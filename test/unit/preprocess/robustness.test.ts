import fc from 'fast-check';
import type { DiagnosticReport, SampledData } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { parseSampledData } from '../../../src/preprocess/ecg/sampled-data.js';
import { ecgFromDicomWaveform } from '../../../src/preprocess/ecg/ecg-from-dicom-waveform.js';
import { decodeDicomImage } from '../../../src/preprocess/imaging/decode-dicom-image.js';
import { buildPart10, TransferSyntaxUid as TS } from '../../../src/preprocess/imaging/part10-normalise.js';
import { decodeRleFrame } from '../../../src/preprocess/imaging/rle-decode.js';
import { extractReportText } from '../../../src/preprocess/text/extract-report-text.js';
import { htmlToText } from '../../../src/preprocess/text/html-to-text.js';
import { reportTokens } from '../../../src/preprocess/text/tokenize-report.js';
import { imageElements, syntheticPixels, writePart10 } from './imaging/synthetic-dicom.js';

// "Nothing throws on bad input": every parser answers arbitrary bytes/strings with a typed result.
describe('parsers never throw on arbitrary input', () => {
  it('RLE frames', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.integer({ min: 1, max: 16 }), fc.integer({ min: 1, max: 2 }), (bytes, side, bps) => {
        const r = decodeRleFrame(bytes, side, side, bps, 1);
        if (r.ok) expect(r.value).toHaveLength(side * side * bps);
      }),
      { numRuns: 300 },
    );
  });

  it('DICOM images: random bytes, and a real file with random corruption', () => {
    const valid = writePart10(imageElements(16, 16, syntheticPixels(16, 16, 12), { bitsAllocated: 16, bitsStored: 12 }), TS.explicitLittle);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        expect(decodeDicomImage(bytes, { maxPixels: 1e6 }).ok).toBe(false);
        expect(decodeDicomImage(new Uint8Array(buildPart10(TS.deflatedExplicitLittle, bytes)), { maxPixels: 1e6 }).ok).toBe(false);
      }),
      { numRuns: 200 },
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(valid.byteLength - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 20 }), fc.nat(valid.byteLength), (edits, cut) => {
        const corrupt = valid.slice(0, Math.max(cut, 132));
        for (const [at, value] of edits) if (at < corrupt.byteLength) corrupt[at] = value;
        const r = decodeDicomImage(corrupt, { maxPixels: 1e6 });
        if (r.ok) expect(r.value.pixels).toHaveLength(r.value.width * r.value.height);
        expect(ecgFromDicomWaveform(corrupt).ok).toBe(false);
      }),
      { numRuns: 200 },
    );
  });

  it('HTML, report text and tokenisation', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (s) => {
        expect(typeof htmlToText(s)).toBe('string');
        const tokens = reportTokens(s, { lowercase: true, negationPrefix: 'NEG_' }).tokens;
        expect(tokens.every((t) => t.length > 0)).toBe(true);
        const report = { resourceType: 'DiagnosticReport', status: 'final', code: {}, conclusion: s, presentedForm: [{ contentType: s, data: s }] } as DiagnosticReport;
        expect(typeof extractReportText(report).ok).toBe('boolean');
      }),
      { numRuns: 300 },
    );
  });

  it('SampledData', () => {
    fc.assert(
      fc.property(fc.record({ origin: fc.record({ value: fc.oneof(fc.double(), fc.constant(undefined)) }), period: fc.oneof(fc.double(), fc.constant(undefined)), factor: fc.oneof(fc.double(), fc.constant(undefined)), dimensions: fc.integer({ min: -2, max: 4 }), data: fc.string({ maxLength: 80 }) }), (sd) => {
        const r = parseSampledData(sd as SampledData);
        if (r.ok) expect(r.value.channels.length).toBe(sd.dimensions);
      }),
      { numRuns: 300 },
    );
  });
});
