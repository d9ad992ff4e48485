import type { LatentState } from './latent-state.js';
import type { EcgMeasurements } from './report-text.js';
import type { Rng } from './seeded-random.js';

/** The twelve standard leads in the conventional order. */
export const ecgLeadNames = [
  'I',
  'II',
  'III',
  'aVR',
  'aVL',
  'aVF',
  'V1',
  'V2',
  'V3',
  'V4',
  'V5',
  'V6',
] as const;

/** Name of one of the twelve standard leads. */
export type EcgLeadName = (typeof ecgLeadNames)[number];

/** A synthetic resting 12-lead ECG. */
export interface EcgRecording {
  sampleRateHz: number;
  /** Samples per lead (duration × rate). */
  samplesPerLead: number;
  /** One array per lead in `ecgLeadNames` order, values in microvolts. */
  leadsMicrovolts: Int16Array[];
  /** Times of the R peaks within the recording, seconds. */
  rPeakTimesS: number[];
  measurements: EcgMeasurements;
}

type Vec3 = readonly [number, number, number];

/**
 * Lead axes in a body frame (x: patient's left, y: inferior, z: anterior). Limb leads I and II
 * are unit vectors at 0° and 60° in the frontal plane; III, aVR, aVL, aVF follow from them by
 * Einthoven's and Goldberger's equations, so III = II − I holds sample by sample, as in a real
 * recording. Precordial leads lie roughly in the horizontal plane from V1 (right parasternal) to V6
 * (left mid-axillary).
 */
const leadI: Vec3 = [1, 0, 0];
const leadII: Vec3 = [0.5, 0.866, 0];
const precordial: Vec3[] = [
  [-0.35, 0.1, 0.93],
  [0.05, 0.1, 0.99],
  [0.45, 0.15, 0.88],
  [0.7, 0.2, 0.68],
  [0.9, 0.2, 0.38],
  [0.98, 0.2, 0],
];
/** Chest electrodes sit closer to the heart: larger deflections than the limb leads. */
const precordialGain = 1.5;

interface Wave {
  /** Centre relative to the R peak, seconds. */
  centre: number;
  /** Gaussian width before and after the centre, seconds. */
  widthBefore: number;
  widthAfter: number;
  /** Dipole in mV. */
  vector: Vec3;
}

function dot(a: Vec3, b: Vec3): number {
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

function scale(v: Vec3, k: number): Vec3 {
  return [v[0] * k, v[1] * k, v[2] * k];
}

/** Amplitude of a dipole on each of the 12 leads (mV). */
function projectOnLeads(v: Vec3): Float64Array {
  const out = new Float64Array(12);
  const i = dot(v, leadI);
  const ii = dot(v, leadII);
  out[0] = i;
  out[1] = ii;
  out[2] = ii - i; // III = II − I (Einthoven)
  out[3] = -(i + ii) / 2; // aVR
  out[4] = i - ii / 2; // aVL = (I − III)/2
  out[5] = ii - i / 2; // aVF = (II + III)/2
  precordial.forEach((axis, k) => {
    out[6 + k] = precordialGain * dot(v, axis);
  });
  return out;
}

/** Share of atrial-fibrillation patients in sinus rhythm during the recording (paroxysmal AF). */
export const PAROXYSMAL_AF_SHARE = 0.4;

/**
 * Synthesises a 10 s, 500 Hz resting 12-lead ECG from a sum-of-Gaussians heart-dipole model
 * (after McSharry et al., IEEE TBME 2003, extended to a 3-D dipole projected on lead axes).
 * Rhythm and morphology follow the latent state: atrial fibrillation has irregularly irregular
 * RR intervals, no P waves and a 4–9 Hz fibrillatory baseline; heart failure raises the rate and
 * shows either an LVH pattern with strain or low voltage; otherwise sinus rhythm with
 * respiratory sinus arrhythmia. Baseline wander, mains hum and white noise are added.
 *
 * Atrial fibrillation is paroxysmal in a share of patients ({@link PAROXYSMAL_AF_SHARE}): they
 * are in sinus rhythm while the 10 s recording is taken, so the ECG alone misses them — as a
 * resting ECG does in real paroxysmal AF (a quarter to a half of AF; ESC 2020 AF guideline §4).
 * Their other findings (rate, age, NT-proBNP, heart size) still follow the latent condition.
 */
export function synthesiseEcg(
  state: LatentState,
  rng: Rng,
  durationS = 10,
  sampleRateHz = 500,
): EcgRecording {
  const n = Math.round(durationS * sampleRateHz);
  // First draw of the ECG stream, so the rest of the recording depends on the rhythm only.
  const af = state.conditions.atrialFibrillation && !rng.chance(PAROXYSMAL_AF_SHARE);
  const lvh = state.ecg.leftVentricularHypertrophy;
  const low = state.ecg.lowVoltage;
  const meanRr = 60 / state.ecg.heartRateBpm;

  // Individual variation of the electrical axis and amplitudes.
  const jitter = (v: Vec3, sd: number): Vec3 => [
    v[0] + sd * rng.normal(),
    v[1] + sd * rng.normal(),
    v[2] + sd * rng.normal(),
  ];
  const qrsScale = (lvh ? 1.75 : low ? 0.38 : 1) * (1 + 0.12 * rng.normal());
  const qrsWiden = lvh ? 1.15 : 1;
  const tVector: Vec3 = lvh
    ? jitter([-0.16, 0.04, 0.2], 0.03)
    : scale(jitter([0.25, 0.2, 0.12], 0.04), low ? 0.6 : 1);
  const waves: Wave[] = [
    {
      centre: -0.025 * qrsWiden,
      widthBefore: 0.009 * qrsWiden,
      widthAfter: 0.009 * qrsWiden,
      vector: scale(jitter([-0.12, 0.02, 0.15], 0.02), qrsScale),
    },
    {
      centre: 0,
      widthBefore: 0.011 * qrsWiden,
      widthAfter: 0.012 * qrsWiden,
      vector: scale(jitter([1.2, 0.75, -0.6], 0.1), qrsScale),
    },
    {
      centre: 0.027 * qrsWiden,
      widthBefore: 0.01 * qrsWiden,
      widthAfter: 0.011 * qrsWiden,
      vector: scale(jitter([-0.25, -0.15, -0.35], 0.05), qrsScale),
    },
  ];
  const prInterval = af ? undefined : 0.15 + 0.02 * rng.normal();
  const pWave: Wave | undefined =
    af || prInterval === undefined
      ? undefined
      : {
          centre: -prInterval + 0.005,
          widthBefore: 0.022,
          widthAfter: 0.022,
          vector: jitter([0.1, 0.12, 0.02], 0.015),
        };

  // R-peak times. Sinus: respiratory sinus arrhythmia (~0.25 Hz) and small beat-to-beat noise.
  // AF: independent log-normal RR draws (irregularly irregular, CV ≈ 0.2).
  const peaks: number[] = [];
  let t = -meanRr * rng.uniform(0, 1);
  const respPhase = rng.uniform(0, 2 * Math.PI);
  while (t < durationS + meanRr) {
    peaks.push(t);
    const rr = af
      ? Math.max(0.3, meanRr * Math.exp(0.2 * rng.normal() - 0.02))
      : meanRr * (1 + 0.035 * Math.sin(2 * Math.PI * 0.25 * t + respPhase) + 0.012 * rng.normal());
    t += rr;
  }

  const leads = Array.from({ length: 12 }, () => new Float64Array(n));
  const addWave = (wave: Wave, at: number, tScale = 1) => {
    const amps = projectOnLeads(wave.vector);
    const centre = at + wave.centre * tScale;
    const wb = wave.widthBefore * tScale;
    const wa = wave.widthAfter * tScale;
    const from = Math.max(0, Math.floor((centre - 4 * wb) * sampleRateHz));
    const to = Math.min(n - 1, Math.ceil((centre + 4 * wa) * sampleRateHz));
    for (let s = from; s <= to; s++) {
      const dt = s / sampleRateHz - centre;
      const w = dt < 0 ? wb : wa;
      const g = Math.exp(-0.5 * (dt / w) * (dt / w));
      for (let l = 0; l < 12; l++) (leads[l] as Float64Array)[s]! += (amps[l] as number) * g;
    }
  };
  let previous = peaks[0] ?? 0;
  for (const peak of peaks) {
    const rr = Math.max(0.3, peak - previous || meanRr);
    previous = peak;
    if (pWave) addWave(pWave, peak);
    for (const wave of waves) addWave(wave, peak);
    // T wave: QT shortens with rate (Bazett: QT ∝ √RR); asymmetric, slower upstroke.
    const tCentre = 0.25 * Math.sqrt(Math.min(1.5, rr));
    addWave({ centre: tCentre, widthBefore: 0.055, widthAfter: 0.04, vector: tVector }, peak);
  }

  // Fibrillatory baseline (AF), baseline wander, mains hum, white noise; all in mV.
  const fAmp = af ? rng.uniform(0.04, 0.1) : 0;
  const fAxis = projectOnLeads([0.05, 0.08, 0.12]);
  const fFreq = rng.uniform(5, 8);
  let fPhase = rng.uniform(0, 2 * Math.PI);
  const wanderFreq = rng.uniform(0.12, 0.35);
  const wanderAmp = rng.uniform(0.03, 0.15);
  const wanderPhase = Array.from({ length: 12 }, () => rng.uniform(0, 2 * Math.PI));
  const mainsFreq = rng.chance(0.5) ? 50 : 60;
  const mainsAmp = rng.chance(0.3) ? rng.uniform(0.005, 0.02) : 0;
  const noiseSd = rng.uniform(0.008, 0.02);
  const dt = 1 / sampleRateHz;
  const out = Array.from({ length: 12 }, () => new Int16Array(n));
  for (let s = 0; s < n; s++) {
    const time = s * dt;
    // Frequency of the fibrillatory wave drifts, giving the irregular "f waves" of AF.
    fPhase += 2 * Math.PI * fFreq * (1 + 0.15 * Math.sin(2 * Math.PI * 0.7 * time)) * dt;
    const f = fAmp * Math.sin(fPhase) * (0.7 + 0.3 * Math.sin(2 * Math.PI * 1.3 * time));
    const mains = mainsAmp * Math.sin(2 * Math.PI * mainsFreq * time);
    for (let l = 0; l < 12; l++) {
      const wander = wanderAmp * Math.sin(2 * Math.PI * wanderFreq * time + (wanderPhase[l] as number));
      const mv =
        (leads[l] as Float64Array)[s]! +
        f * Math.abs(fAxis[l] as number) * 5 +
        wander +
        mains +
        noiseSd * rng.approxNormal();
      (out[l] as Int16Array)[s] = Math.max(-32768, Math.min(32767, Math.round(mv * 1000)));
    }
  }

  const inWindow = peaks.filter((p) => p >= 0 && p < durationS);
  const rrs = inWindow.slice(1).map((p, i) => p - (inWindow[i] as number));
  const meanObservedRr = rrs.length > 0 ? rrs.reduce((a, b) => a + b, 0) / rrs.length : meanRr;
  const qrsDurationMs = (0.027 * qrsWiden + 0.025 * qrsWiden + 3 * 0.01 * qrsWiden) * 1000;
  return {
    sampleRateHz,
    samplesPerLead: n,
    leadsMicrovolts: out,
    rPeakTimesS: inWindow,
    measurements: {
      rhythm: af ? 'atrial-fibrillation' : 'sinus',
      ventricularRateBpm: 60 / meanObservedRr,
      leftVentricularHypertrophy: lvh,
      lowVoltage: low,
      qrsDurationMs,
      qtIntervalMs: (0.025 * qrsWiden + 0.027 + 0.25 * Math.sqrt(Math.min(1.5, meanObservedRr)) + 0.1) * 1000,
      prIntervalMs: prInterval !== undefined ? prInterval * 1000 : undefined,
    },
  };
}
