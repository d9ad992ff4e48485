import type { DiagnosticReport } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { AIAST } from '../../../../src/contracts/fusion-terminology.js';
import { selectReports } from '../../../../src/preprocess/text/report-selection.js';

const asOf = new Date('2026-12-04T12:00:00Z');

function report(
  id: string,
  status: DiagnosticReport['status'],
  hoursAgo: number,
  aiDrafted = false,
): DiagnosticReport {
  return {
    resourceType: 'DiagnosticReport',
    id,
    status,
    ...(aiDrafted ? { meta: { security: [AIAST] } } : {}),
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0074', code: 'RAD' }] }],
    code: { text: 'XR chest' },
    effectiveDateTime: new Date(asOf.getTime() - hoursAgo * 3_600_000).toISOString(),
    conclusion: `report ${id}`,
  };
}

describe('selectReports', () => {
  it('keeps final reports in the window, newest first, and drops preliminary ones', () => {
    const chosen = selectReports(
      [report('old', 'final', 48), report('new', 'final', 2), report('draft', 'preliminary', 1)],
      ['RAD'],
      720,
      asOf,
    );
    expect(chosen.map((r) => r.id)).toEqual(['new', 'old']);
  });

  it('never feeds an AI-drafted description back as input, even once a clinician accepted it as final', () => {
    const chosen = selectReports(
      [report('clinician', 'final', 3), report('accepted-ai-draft', 'final', 1, true)],
      ['RAD'],
      720,
      asOf,
    );
    expect(chosen.map((r) => r.id)).toEqual(['clinician']);
  });
});
