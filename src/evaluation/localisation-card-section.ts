import { fixed3, tableHeader, tableRow } from './markdown-table.js';
import { OOD_END } from './ood-card-section.js';
import { METRICS_END } from './metrics-card-section.js';
import type { MeanWithInterval } from './localisation-metrics.js';

/** Markers around the generated localisation section of `card.md`. */
export const LOCALISATION_START = '<!-- localisation:start -->';
export const LOCALISATION_END = '<!-- localisation:end -->';

/** One table row: a lesion type on one test set, for the model's map or the baseline. */
export interface LocalisationRow {
  split: string;
  lesion: string;
  /** The outcome whose map is scored (display), e.g. "Acute heart failure". */
  outcome: string;
  /** `model` (the model's map) or `prior` (the training split's mean lesion mask). */
  map: 'model' | 'prior';
  pointing: MeanWithInterval;
  iou: MeanWithInterval;
}

/** What `npm run models:evaluate` measures for a model's localisation output. */
export interface LocalisationReport {
  /** Output grid of the map, and the input grid it is upsampled to. */
  mapSize: [number, number];
  inputSize: [number, number];
  rows: LocalisationRow[];
}

function withInterval(m: MeanWithInterval): string {
  return `${fixed3(m.mean)} [${fixed3(m.lower)}, ${fixed3(m.upper)}]`;
}

/** The card section (Markdown) between the markers; also what the command prints. */
export function renderLocalisationSection(report: LocalisationReport): string {
  const [mh, mw] = report.mapSize;
  const [ih, iw] = report.inputSize;
  const lines = [
    `The model outputs a faithful localisation map per outcome (${mh}×${mw} cells, logit units: the mean over the cells plus a per-patient constant is the outcome's logit; the class-activation map with the ReLU gates held at the input, minus the mean map of the training films without the outcome). ` +
      `Scored against the synthetic cohort's ground-truth lesion masks, on the images where the lesion is present: cardiomegaly and effusion against the acute heart failure map, consolidation against the pneumonia map. ` +
      `The map is upsampled bilinearly to the ${ih}×${iw} input grid and only the un-padded image counts. ` +
      "Pointing game: the map's maximum falls on a lesion pixel (no tolerance). IoU: pixels at or above half of the map's range (min + 0.5·(max − min)) against the mask. " +
      'Baseline ("prior"): the mean lesion mask of the training split\'s films with that lesion, the same map for every film (where the lesion usually is), scored the same way. 95 % intervals: 2,000 bootstrap resamples of the images. ' +
      'Trained and evaluated on synthetic data: these figures say nothing about real radiographs. ' +
      "The same-site rows are also in the manifest (`metrics.localisation`): serving writes a map as a DICOM SEG and an imaging-finding Observation only for a finding whose pointing game has a lower 95 % bound of at least `LOCALISATION_MIN_POINTING_GAME` (default 0.85) and a mean above the prior's; otherwise the RiskAssessment says `not-validated`.",
    '',
    ...tableHeader(['test set', 'lesion', 'map', 'images', 'pointing game [95 % CI]', 'IoU [95 % CI]']),
  ];
  for (const r of report.rows) {
    const map = r.map === 'model' ? `model (${r.outcome})` : 'prior (training mean mask)';
    lines.push(
      tableRow([r.split, r.lesion, map, r.pointing.n, withInterval(r.pointing), withInterval(r.iou)]),
    );
  }
  return lines.join('\n');
}

/**
 * Replace the text between the localisation markers; a card without them gets a "Localisation"
 * section after the out-of-distribution section (or the performance section, or at the end).
 */
export function replaceLocalisationSection(card: string, section: string): string {
  const start = card.indexOf(LOCALISATION_START);
  const end = card.indexOf(LOCALISATION_END);
  if (start !== -1 && end > start)
    return `${card.slice(0, start + LOCALISATION_START.length)}\n${section}\n${card.slice(end)}`;
  const block = `## Localisation\n\n${LOCALISATION_START}\n${section}\n${LOCALISATION_END}\n`;
  const anchor = card.includes(OOD_END) ? OOD_END : METRICS_END;
  const at = card.indexOf(anchor);
  if (at === -1) return `${card.trimEnd()}\n\n${block}`;
  const after = at + anchor.length;
  return `${card.slice(0, after)}\n\n${block}${card.slice(after).replace(/^\n*/, '\n')}`;
}
