import { describe, expect, it } from 'vitest';
import { findingSignature, radiographFindings } from '../../../../src/preprocess/text/radiograph-findings.js';

const found = (text: string) => [...radiographFindings(text)].sort();

describe('radiographFindings (negation-aware)', () => {
  it('reads affirmed and hedged findings and ignores negated ones', () => {
    expect(
      found('The heart is enlarged. Cannot exclude a small left pleural effusion. No pneumothorax.'),
    ).toEqual(['cardiomegaly', 'effusion']);
    expect(found('Cardiomegaly without overt pulmonary edema.')).toEqual(['cardiomegaly']);
    expect(found('No pleural effusion or pneumothorax. No focal consolidation.')).toEqual([]);
  });

  it('counts an opacity placed in a lobe as consolidation, but not a basal linear one', () => {
    expect(
      found('Patchy opacity in the right lower lobe, which may represent atelectasis or early pneumonia.'),
    ).toContain('consolidation');
    expect(
      found('Linear opacity at the left base, likely subsegmental atelectasis. No focal consolidation.'),
    ).toEqual(['atelectasis']);
  });

  it('reads oedema from congestion and fluid-overload wording', () => {
    expect(found('Pulmonary vascular congestion.')).toEqual(['oedema']);
    expect(found('No evidence of pulmonary vascular congestion. Pulmonary vasculature is normal.')).toEqual(
      [],
    );
  });

  it('finds nothing in a normal report', () => {
    expect(
      found(
        'Normal heart size. No pulmonary edema. The lungs are clear without focal consolidation. Costophrenic angles are sharp. No acute cardiopulmonary process.',
      ),
    ).toEqual([]);
  });
});

describe('findingSignature', () => {
  it('is the same for two wordings of one finding and differs by side, assertion or finding', () => {
    expect(findingSignature('The heart is enlarged.')).toBe(findingSignature('Cardiomegaly.'));
    expect(findingSignature('Focal consolidation in the left lower lobe.')).toBe(
      findingSignature('Dense airspace opacity in the left lower lobe with air bronchograms.'),
    );
    expect(findingSignature('Small right pleural effusion.')).not.toBe(
      findingSignature('Small left pleural effusion.'),
    );
    expect(findingSignature('No pleural effusion.')).not.toBe(
      findingSignature('Small left pleural effusion.'),
    );
    expect(findingSignature('Cannot exclude a small left pleural effusion.')).not.toBe(
      findingSignature('Small left pleural effusion.'),
    );
  });

  it('is empty for a sentence that mentions no finding', () => {
    expect(findingSignature('Heart size is normal.')).toBe('');
    expect(findingSignature('Costophrenic angles are sharp.')).toBe('');
  });
});
