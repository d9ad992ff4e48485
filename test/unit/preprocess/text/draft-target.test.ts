import { describe, expect, it } from 'vitest';
import {
  descriptionWords,
  reportDescriptionTarget,
  stripIdentifiers,
} from '../../../../src/preprocess/text/draft-target.js';

describe('reportDescriptionTarget', () => {
  it('keeps FINDINGS then IMPRESSION and drops examination, indication and technique', () => {
    const report =
      'EXAMINATION: Chest radiograph, PA and lateral.\nINDICATION: Cough and fever.\nTECHNIQUE: PA and lateral views of the chest.\n' +
      'FINDINGS: Heart size is normal. No pleural effusion.\nIMPRESSION: No acute cardiopulmonary process.\n';
    expect(reportDescriptionTarget(report)).toBe(
      'Heart size is normal. No pleural effusion. No acute cardiopulmonary process.',
    );
  });

  it('strips dates, times, record and accession numbers from the target', () => {
    const report =
      'FINDINGS: Compared with 2025-12-01 and 03/04/2026 at 14:35, MRN 00123456 (ACC9876543), new small right pleural effusion.\n' +
      'IMPRESSION: Effusion, called to dr.who@example.org on 3 March 2026.\n';
    const target = reportDescriptionTarget(report) ?? '';
    expect(target).not.toMatch(/\d/);
    expect(target).not.toMatch(/@|march/i);
    expect(target).toContain('new small right pleural effusion.');
  });

  it('is undefined for a report with neither findings nor impression', () => {
    expect(reportDescriptionTarget('INDICATION: Chest pain.\nTECHNIQUE: Single view.\n')).toBeUndefined();
  });
});

describe('stripIdentifiers / descriptionWords', () => {
  it('removes every digit-bearing token and tidies the punctuation left behind', () => {
    expect(stripIdentifiers('Seen on 2026-01-15T10:00:00Z , patient 12345 .')).toBe('Seen on, patient.');
  });

  it('tokenises to lower-case words and sentence punctuation only', () => {
    expect(descriptionWords('No effusion; Heart 2x enlarged, see #4.')).toEqual([
      'no',
      'effusion',
      ';',
      'heart',
      'x',
      'enlarged',
      ',',
      'see',
      '.',
    ]);
  });
});
