import type { DiagnosticReport } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { extractReportText } from '../../../../src/preprocess/text/extract-report-text.js';
import { htmlToText } from '../../../../src/preprocess/text/html-to-text.js';
import { assertSentences } from '../../../../src/preprocess/text/negation.js';
import { reportTokens, tokenizeReport, type TextSpec } from '../../../../src/preprocess/text/tokenize-report.js';
import { buildVocabulary } from '../../../../src/preprocess/text/build-vocabulary.js';
import { parseVocabulary } from '../../../../src/preprocess/text/vocabulary.js';

const spec: TextSpec = { lookbackHours: 72, categories: ['RAD'], tokenizer: 'vocab.json', maxTokens: 12, lowercase: true, negationPrefix: 'NEG_' };
const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

function report(extra: Partial<DiagnosticReport>): DiagnosticReport {
  return { resourceType: 'DiagnosticReport', id: 'r1', status: 'final', code: { text: 'CXR' }, ...extra };
}

describe('negation and hedging', () => {
  it('"No pleural effusion." never yields a bare effusion token', () => {
    const { tokens, sentences } = reportTokens('No pleural effusion.', spec);
    expect(tokens).toEqual(['NEG_pleural', 'NEG_effusion']);
    expect(tokens).not.toContain('effusion');
    expect(sentences[0]!.negated).toBe(true);
  });

  it('marks "cannot exclude small effusion" uncertain, not negated', () => {
    const [s] = assertSentences('Cannot exclude small effusion.');
    expect(s!.uncertain).toBe(true);
    expect(s!.negated).toBe(false);
    expect(s!.words.find((w) => w.word === 'effusion')!.assertion).toBe('uncertain');
    expect(reportTokens('Cannot exclude small effusion.', spec).tokens).toContain('effusion');
  });

  it('ends the negation scope at "but" and at punctuation', () => {
    expect(reportTokens('No pneumothorax but small effusion.', spec).tokens).toEqual(['NEG_pneumothorax', 'but', 'small', 'effusion']);
    expect(reportTokens('Without consolidation, cardiomegaly present.', spec).tokens).toEqual(['NEG_consolidation', 'cardiomegaly', 'present']);
  });

  it('negates every item of an "or" list but not past a plain comma', () => {
    expect(reportTokens('No pneumothorax, pleural effusion, or focal consolidation.', spec).tokens).toEqual([
      'NEG_pneumothorax', 'NEG_pleural', 'NEG_effusion', 'NEG_or', 'NEG_focal', 'NEG_consolidation',
    ]);
    expect(reportTokens('No effusion, cardiomegaly present; no edema.', spec).tokens).toEqual(['NEG_effusion', 'cardiomegaly', 'present', 'NEG_edema']);
  });

  it('handles "negative for", post-position "resolved" and pseudo-triggers', () => {
    expect(reportTokens('Negative for pneumonia.', spec).tokens).toEqual(['NEG_pneumonia']);
    expect(reportTokens('The left effusion has resolved.', spec).tokens).toEqual(['NEG_the', 'NEG_left', 'NEG_effusion']);
    expect(reportTokens('No change in cardiomegaly.', spec).tokens).toEqual(['no', 'change', 'in', 'cardiomegaly']);
  });

  it('skips the clinical question and keeps findings and impression', () => {
    const text = 'INDICATION: Rule out pneumonia.\nFINDINGS: Heart size normal.\nIMPRESSION: No acute disease.';
    const { tokens, sentences } = reportTokens(text, spec);
    expect(tokens).not.toContain('pneumonia');
    expect(tokens).toEqual(['heart', 'size', 'normal', 'NEG_acute', 'NEG_disease']);
    expect(sentences.map((s) => s.section)).toEqual(['FINDINGS', 'IMPRESSION']);
  });
});

describe('tokenizeReport', () => {
  it('maps to vocabulary ids with unknown = 1 and zero padding to maxTokens', () => {
    const vocab = parseVocabulary({ tokens: ['<pad>', '<unk>', 'NEG_effusion', 'cardiomegaly'] });
    if (!vocab.ok) throw new Error(vocab.detail);
    const r = tokenizeReport('Cardiomegaly. No effusion. Osteopenia.', vocab.value, spec);
    expect(Array.from(r.ids)).toEqual([3n, 2n, 1n, 0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n]);
    const long = tokenizeReport('cardiomegaly '.repeat(40), vocab.value, spec);
    expect(long.ids).toHaveLength(12);
    expect(long.ids.every((id) => id === 3n)).toBe(true);
  });

  it('builds a reproducible vocabulary with pad and unknown first', () => {
    const texts = ['No pleural effusion.', 'Small pleural effusion.', 'Pleural thickening.'];
    const file = buildVocabulary(texts, { ...spec, minCount: 1 });
    expect(file.tokens.slice(0, 3)).toEqual(['<pad>', '<unk>', 'pleural']);
    expect(file.tokens).toContain('NEG_effusion');
    expect(buildVocabulary(texts, { ...spec, minCount: 2 }).tokens).toEqual(['<pad>', '<unk>', 'pleural']);
  });

  it('rejects malformed vocabulary files', () => {
    expect(parseVocabulary({ tokens: 'x' }).ok).toBe(false);
    expect(parseVocabulary({ tokens: ['<pad>', '<unk>', 3] }).ok).toBe(false);
  });
});

describe('extractReportText', () => {
  it('decodes base64 text/plain and text/html after the conclusion', () => {
    const html = '<html><head><style>p{color:red}</style><script>alert("x")</script></head><body><p>FINDINGS: Lungs clear &amp; no effusion.</p><p>IMPRESSION:<br>Normal&#46;</p></body></html>';
    const r = extractReportText(report({
      conclusion: 'Normal chest.',
      presentedForm: [
        { contentType: 'text/plain; charset=utf-8', data: b64('Heart size normal.') },
        { contentType: 'text/html', data: b64(html) },
      ],
    }));
    if (!r.ok) throw new Error(r.detail);
    expect(r.value.text).toBe('Normal chest.\n\nHeart size normal.\n\nFINDINGS: Lungs clear & no effusion.\nIMPRESSION:\nNormal.');
    expect(r.value.text).not.toMatch(/alert|color/);
  });

  it('names PDF unsupported and returns url attachments as needing a fetch', () => {
    const pdfOnly = extractReportText(report({ presentedForm: [{ contentType: 'application/pdf', data: b64('%PDF-1.4 ...') }] }));
    expect(pdfOnly).toEqual({ ok: false, reason: 'unsupported-format', detail: expect.stringContaining('application/pdf') });

    const withUrl = report({ presentedForm: [{ contentType: 'text/plain', url: 'https://ehr.example/Binary/1' }, { contentType: 'application/pdf', data: b64('%PDF') }] });
    const first = extractReportText(withUrl);
    if (!first.ok) throw new Error(first.detail);
    expect(first.value.needsFetch).toEqual([{ expression: 'DiagnosticReport.presentedForm[0].url', url: 'https://ehr.example/Binary/1', contentType: 'text/plain' }]);
    expect(first.value.skipped[0]).toMatchObject({ expression: 'DiagnosticReport.presentedForm[1].contentType', reason: 'unsupported-format' });

    const second = extractReportText(withUrl, (url) => (url === 'https://ehr.example/Binary/1' ? { data: new TextEncoder().encode('Mild cardiomegaly.') } : undefined));
    if (!second.ok) throw new Error(second.detail);
    expect(second.value.text).toBe('Mild cardiomegaly.');
    expect(second.value.needsFetch).toEqual([]);
  });

  it('fails cleanly on bad base64 and empty reports', () => {
    expect(extractReportText(report({ presentedForm: [{ contentType: 'text/plain', data: '!!!not base64' }] }))).toMatchObject({ ok: false, reason: 'failed-to-decode' });
    expect(extractReportText(report({}))).toMatchObject({ ok: false, reason: 'none-in-window' });
  });

  it('strips tags from hostile HTML without hanging', () => {
    expect(htmlToText('<div>a<' + '<'.repeat(50_000) + 'b')).toBe('a');
    expect(htmlToText('<p>x</p><!-- hidden <p>y</p> --><p>z</p>')).toBe('x\nz');
  });
});
