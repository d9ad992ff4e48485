import { fixed3, tableHeader, tableRow } from './markdown-table.js';
import { OOD_END } from './ood-card-section.js';
import { METRICS_END } from './metrics-card-section.js';
import type { MeanWithInterval } from './localisation-metrics.js';

/** Markers around the generated localisation section of `card.md`. */
export const LOCALISATION_START = '<!-- localisation:start -->';
export const LOCALISATION_END = '<!-- localisation:end -->';

/** One table row: a lesion type on one test set, for one of the model's maps or the baseline. */
export interface LocalisationRow {
  split: string;
  lesion: string;
  /** Outcome maps: the outcome whose map is scored (display), e.g. "Acute heart failure". */
  outcome?: string;
  /**
   * `outcome-map` (the outcome's class-activation map), `finding-map` (the finding localiser's
   * map of this lesion) or `prior` (the training split's mean lesion mask).
   */
  map: 'outcome-map' | 'finding-map' | 'prior';
  pointing: MeanWithInterval;
  iou: MeanWithInterval;
  /** Finding maps: the presence call at its threshold, over every imaged film of the split. */
  presence?: { threshold: number; precision: MeanWithInterval; recall: MeanWithInterval };
}

/** What `npm run models:evaluate` measures for a model's localisation outputs. */
export interface LocalisationReport {
  /** Output grid of each map the model has, and the input grid they are upsampled to. */
  mapSizes: Partial<Record<'outcome-map' | 'finding-map', [number, number]>>;
  inputSize: [number, number];
  rows: LocalisationRow[];
}

function withInterval(m: MeanWithInterval): string {
  return `${fixed3(m.mean)} [${fixed3(m.lower)}, ${fixed3(m.upper)}]`;
}

/** The card section (Markdown) between the markers; also what the command prints. */
export function renderLocalisationSection(report: LocalisationReport): string {
  const [ih, iw] = report.inputSize;
  const grid = (kind: 'outcome-map' | 'finding-map') => {
    const size = report.mapSizes[kind];
    return size ? `${size[0]}×${size[1]} cells` : '';
  };
  const lines = [
    ...(report.mapSizes['finding-map']
      ? [
          `**Finding map** (${grid('finding-map')}): the finding localiser, a branch of its own trained on the synthetic cohort's ground-truth lesion regions — per cell, the logit that the cell lies in the finding's region (trained on the films that show the finding, against each cell's share of the ground-truth region), and per film the probability that it shows the finding at all. Each lesion is scored against its own finding's channel. ` +
            "Presence: the call (probability at or above the finding's threshold) over every imaged film — precision over the films called, recall over the films that show the finding.",
          '',
        ]
      : []),
    ...(report.mapSizes['outcome-map']
      ? [
          `**Outcome map** (${grid('outcome-map')}, logit units): the risk model's faithful class-activation map per outcome — the mean over the cells plus a per-patient constant is the outcome's logit (ReLU gates held at the input, minus the mean map of the training films without the outcome). Cardiomegaly and effusion are scored against the acute heart failure map, consolidation against the pneumonia map. ` +
            "A map faithful to an outcome's score shows that outcome's evidence, which is not one lesion; it is evaluated, never shown.",
          '',
        ]
      : []),
    `Scored against the ground-truth lesion masks on the images where the lesion is present. Each map is upsampled bilinearly to the ${ih}×${iw} input grid and only the un-padded image counts. ` +
      "Pointing game: the map's maximum falls on a lesion pixel (no tolerance). IoU against the mask of the region serving draws the SEG with: for a finding map the pixels whose probability is at least half the likeliest pixel's, for an outcome map (logit shares, no absolute scale) the pixels at or above half its range (min + 0.5·(max − min)); the prior is cut at half its range. " +
      'Baseline ("prior"): the mean lesion mask of the training split\'s films with that lesion, the same map for every film (where the lesion usually is), scored the same way. 95 % intervals: 2,000 bootstrap resamples of the images. ' +
      'Trained and evaluated on synthetic data: these figures say nothing about real radiographs. ' +
      "The same-site rows are also in the manifest (`metrics.localisation`): serving writes a map as a DICOM SEG and an imaging-finding Observation only for a finding whose pointing game has a lower 95 % bound of at least `LOCALISATION_MIN_POINTING_GAME` (default 0.85) and a mean not below the prior's, and — for a finding map, shown when the model calls the finding — whose presence precision has a lower 95 % bound of at least `LOCALISATION_MIN_PRECISION` (default 0.8); otherwise the RiskAssessment says `not-validated`.",
    '',
    ...tableHeader([
      'test set',
      'lesion',
      'map',
      'images',
      'pointing game [95 % CI]',
      'IoU [95 % CI]',
      'presence precision [95 % CI]',
      'presence recall [95 % CI]',
    ]),
  ];
  for (const r of report.rows) {
    const map =
      r.map === 'finding-map'
        ? 'finding map'
        : r.map === 'outcome-map'
          ? `outcome map (${r.outcome ?? ''})`
          : 'prior (training mean mask)';
    lines.push(
      tableRow([
        r.split,
        r.lesion,
        map,
        r.pointing.n,
        withInterval(r.pointing),
        withInterval(r.iou),
        r.presence ? withInterval(r.presence.precision) : '—',
        r.presence ? withInterval(r.presence.recall) : '—',
      ]),
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
