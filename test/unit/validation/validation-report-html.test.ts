import { describe, expect, it } from 'vitest';
import type { ValidationReport } from '../../../src/validation/run-validation.js';
import { groupMetrics } from '../../../src/validation/validation-metrics.js';
import { validationReportHtml } from '../../../src/validation/validation-report-html.js';

const cases = [0, 1, 0, 1, 1, 0].map((label, i) => ({
  label: label as 0 | 1,
  probability: (i + 1) / 7,
  subgroups: [],
}));

function report(display: string, reason: string): ValidationReport {
  const overall = groupMetrics(cases, 'test');
  return {
    kind: 'fhir-fusion local validation',
    generatedAt: '2026-01-01T00:00:00.000Z',
    asOf: '2026-01-01T00:00:00.000Z',
    exportTransactionTime: '2026-01-31T00:00:00.000Z',
    since: null,
    labelDefinition: 'positive: …',
    window: { days: 30 },
    method: 'bootstrap',
    patients: { exported: 7, withoutPatientResource: 0 },
    models: [
      {
        model: 'm@1',
        sha256: 'abc',
        assessed: 6,
        abstained: { [reason]: 1 },
        outcomes: [
          {
            code: '1',
            system: 'http://snomed.info/sct',
            display,
            evaluated: 6,
            prevalentExcluded: 0,
            notAssessed: {},
            overall,
            subgroups: { 'sex female': overall },
            cases: [],
          },
        ],
      },
    ],
  };
}

describe('the local-validation HTML page', () => {
  it('escapes what comes from the EHR and the manifests, and shows each metric with its interval', () => {
    const html = validationReportHtml(report('<script>alert(1)</script>', 'requires <ecg>'));
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('requires &lt;ecg&gt;: 1');
    const m = groupMetrics(cases, 'test');
    expect(m.n).toBe(6);
    expect(m.positives).toBe(3);
    expect(html).toContain(
      `${m.auroc.value!.toFixed(3)} [${m.auroc.lower!.toFixed(3)}, ${m.auroc.upper!.toFixed(3)}]`,
    );
    expect(html).toContain('<td>sex female</td>');
  });
});
