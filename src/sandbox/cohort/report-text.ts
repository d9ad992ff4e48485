import type { LatentState, Side } from './latent-state.js';
import type { Rng } from './seeded-random.js';

/** A report's free text split as radiologists and cardiologists write it. */
export interface ReportText {
  /** Full text (findings + impression), what goes into `presentedForm`. */
  text: string;
  /** Impression only, what goes into `DiagnosticReport.conclusion`. */
  conclusion: string;
}

const sideWord = (s: Side) => s;
const zoneWord = { lower: 'lower lobe', middle: 'middle lobe', upper: 'upper lobe' } as const;

/**
 * Chest radiograph report written from what was drawn on the image, with a reader's
 * imperfection: subtle findings are hedged ("Cannot exclude …") or occasionally missed, absent
 * findings are stated as negations ("No focal consolidation."), so text models must handle
 * negation and uncertainty rather than keyword-spot.
 */
export function chestRadiographReport(
  state: LatentState,
  rng: Rng,
  views: 'PA and lateral' | 'AP portable',
): ReportText {
  const findings: string[] = [];
  const impression: string[] = [];
  const ctr = state.cardiothoracicRatio;
  if (ctr >= 0.56) {
    findings.push(
      rng.pick(['The heart is enlarged.', 'Cardiomegaly.', 'Marked enlargement of the cardiac silhouette.']),
    );
  } else if (ctr >= 0.5) {
    findings.push(
      rng.pick([
        'The cardiac silhouette is at the upper limits of normal.',
        'Mildly enlarged cardiac silhouette.',
        'Borderline cardiomegaly, possibly accentuated by technique.',
      ]),
    );
  } else {
    findings.push(
      rng.pick([
        'Heart size is normal.',
        'The cardiomediastinal silhouette is within normal limits.',
        'Normal heart size.',
      ]),
    );
  }
  const edemaSeen = state.edema > 0.15 && rng.chance(0.9);
  if (edemaSeen && state.edema > 0.55) {
    findings.push(
      'Perihilar airspace opacities and interstitial thickening, consistent with pulmonary edema.',
    );
  } else if (edemaSeen) {
    findings.push(
      rng.pick([
        'Pulmonary vascular congestion.',
        'Mild interstitial edema.',
        'Cephalization of the pulmonary vasculature.',
      ]),
    );
  } else {
    findings.push(
      rng.pick([
        'No pulmonary edema.',
        'Pulmonary vasculature is normal.',
        'No evidence of pulmonary vascular congestion.',
      ]),
    );
  }
  const c = state.consolidation;
  const consolidationSeen = c !== undefined && (c.extent > 0.3 || rng.chance(0.6));
  if (c && consolidationSeen) {
    const where = `${sideWord(c.side)} ${zoneWord[c.zone]}`;
    if (c.extent > 0.45)
      findings.push(
        rng.pick([
          `Focal consolidation in the ${where}.`,
          `Dense airspace opacity in the ${where} with air bronchograms.`,
        ]),
      );
    else
      findings.push(
        rng.pick([
          `Patchy opacity in the ${where}, which may represent atelectasis or early pneumonia.`,
          `Subtle hazy opacity in the ${where}; infection is not excluded.`,
        ]),
      );
  } else if (state.atelectasis) {
    findings.push(
      `Linear opacity at the ${state.atelectasis} base, likely subsegmental atelectasis. No focal consolidation.`,
    );
  } else {
    findings.push(
      rng.pick([
        'No focal consolidation.',
        'The lungs are clear without focal consolidation.',
        'No focal airspace disease.',
      ]),
    );
  }
  const effusionPhrases: string[] = [];
  for (const side of ['right', 'left'] as const) {
    const size = state.effusion[side];
    if (size > 0.35)
      effusionPhrases.push(`${rng.pick(['Moderate', 'Small to moderate'])} ${side} pleural effusion.`);
    else if (size > 0.18) effusionPhrases.push(`Small ${side} pleural effusion.`);
    else if (size > 0) effusionPhrases.push(`Cannot exclude a small ${side} pleural effusion.`);
  }
  if (effusionPhrases.length === 0)
    findings.push(
      rng.pick([
        'No pleural effusion or pneumothorax.',
        'No pleural effusion. No pneumothorax.',
        'Costophrenic angles are sharp.',
      ]),
    );
  else findings.push(...effusionPhrases, 'No pneumothorax.');

  // Impression: the few things that matter, in order of importance.
  if (ctr >= 0.53 && edemaSeen) impression.push('Cardiomegaly with pulmonary vascular congestion.');
  else if (ctr >= 0.56) impression.push('Cardiomegaly without overt pulmonary edema.');
  else if (edemaSeen) impression.push('Findings suggestive of mild fluid overload.');
  if (c && consolidationSeen)
    impression.push(
      c.extent > 0.45
        ? `${capitalise(sideWord(c.side))} ${zoneWord[c.zone]} pneumonia.`
        : `Possible early ${sideWord(c.side)} ${zoneWord[c.zone]} pneumonia; clinical correlation recommended.`,
    );
  const effusionSides = (['right', 'left'] as const).filter((s) => state.effusion[s] > 0.18);
  if (effusionSides.length === 2) impression.push('Bilateral pleural effusions.');
  else if (effusionSides.length === 1)
    impression.push(`${capitalise(effusionSides[0] ?? 'right')} pleural effusion.`);
  else if (state.effusion.left > 0 || state.effusion.right > 0)
    impression.push(`Cannot exclude a small ${state.effusion.left > 0 ? 'left' : 'right'} pleural effusion.`);
  if (impression.length === 0)
    impression.push(
      rng.pick([
        'No acute cardiopulmonary process.',
        'No acute cardiopulmonary abnormality.',
        'No focal consolidation. No acute findings.',
      ]),
    );

  const technique =
    views === 'PA and lateral'
      ? 'PA and lateral views of the chest.'
      : 'Single portable AP view of the chest.';
  const indication = rng.pick([
    'Shortness of breath.',
    'Dyspnea, evaluate for pneumonia.',
    'Cough and fever.',
    'Chest pain.',
    'Hypoxia.',
  ]);
  const conclusion = impression.join(' ');
  const text = `EXAMINATION: Chest radiograph, ${views}.\nINDICATION: ${indication}\nTECHNIQUE: ${technique}\nFINDINGS: ${findings.join(' ')}\nIMPRESSION: ${conclusion}\n`;
  return { text, conclusion };
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** Measurements the ECG report states, taken from the generated waveform itself. */
export interface EcgMeasurements {
  rhythm: 'sinus' | 'atrial-fibrillation';
  ventricularRateBpm: number;
  leftVentricularHypertrophy: boolean;
  lowVoltage: boolean;
  qrsDurationMs: number;
  qtIntervalMs: number;
  prIntervalMs: number | undefined;
}

/** ECG interpretation in the style of a machine read over-read by a cardiologist. */
export function ecgReport(m: EcgMeasurements, rng: Rng): ReportText {
  const lines: string[] = [];
  const rate = Math.round(m.ventricularRateBpm);
  if (m.rhythm === 'atrial-fibrillation') {
    lines.push(
      rate > 100
        ? `Atrial fibrillation with rapid ventricular response, ventricular rate ${rate} bpm.`
        : `Atrial fibrillation, ventricular rate ${rate} bpm.`,
    );
    lines.push('Irregularly irregular rhythm; no discernible P waves.');
  } else if (rate > 100) {
    lines.push(`Sinus tachycardia, rate ${rate} bpm.`);
  } else if (rate < 60) {
    lines.push(`Sinus bradycardia, rate ${rate} bpm.`);
  } else {
    lines.push(`Normal sinus rhythm, rate ${rate} bpm.`);
  }
  if (m.leftVentricularHypertrophy)
    lines.push('Left ventricular hypertrophy by voltage criteria with secondary repolarization abnormality.');
  if (m.lowVoltage) lines.push('Low QRS voltage in the limb leads.');
  if (!m.leftVentricularHypertrophy && !m.lowVoltage)
    lines.push(rng.pick(['Normal QRS voltage.', 'No evidence of ventricular hypertrophy.']));
  lines.push(
    rng.pick(['No acute ST elevation.', 'Nonspecific ST-T wave changes.', 'No acute ST-T changes.']),
  );
  const intervals = `Intervals: ${m.prIntervalMs !== undefined ? `PR ${Math.round(m.prIntervalMs)} ms, ` : ''}QRS ${Math.round(m.qrsDurationMs)} ms, QT ${Math.round(m.qtIntervalMs)} ms.`;
  let summary: string;
  if (m.rhythm === 'atrial-fibrillation')
    summary = m.leftVentricularHypertrophy
      ? 'Abnormal ECG: atrial fibrillation, LVH.'
      : 'Abnormal ECG: atrial fibrillation.';
  else if (m.leftVentricularHypertrophy || m.lowVoltage || rate > 100) summary = 'Abnormal ECG.';
  else summary = rng.pick(['Normal ECG.', 'Otherwise normal ECG. No evidence of atrial fibrillation.']);
  const text = `12-LEAD ECG INTERPRETATION\n${lines.join('\n')}\n${intervals}\nSUMMARY: ${summary}\n`;
  return { text, conclusion: `${lines[0] ?? ''} ${summary}`.trim() };
}
