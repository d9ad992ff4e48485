import type { CohortLabel } from './generate-patient.js';

/**
 * Markdown table of condition prevalence (count and percent), plus co-occurrence rows, for the
 * README and `cohort.json`.
 */
export function prevalenceTable(labels: Iterable<CohortLabel>): string {
  let n = 0;
  const counts = { ahf: 0, pna: 0, af: 0, ahfAndAf: 0, ahfAndPna: 0, none: 0 };
  for (const { conditions: c } of labels) {
    n++;
    if (c.acuteHeartFailure) counts.ahf++;
    if (c.pneumonia) counts.pna++;
    if (c.atrialFibrillation) counts.af++;
    if (c.acuteHeartFailure && c.atrialFibrillation) counts.ahfAndAf++;
    if (c.acuteHeartFailure && c.pneumonia) counts.ahfAndPna++;
    if (!c.acuteHeartFailure && !c.pneumonia && !c.atrialFibrillation) counts.none++;
  }
  const pct = (k: number) => (n === 0 ? '0.0' : ((100 * k) / n).toFixed(1));
  const row = (name: string, k: number) => `| ${name} | ${k} | ${pct(k)} % |`;
  return [
    `| condition (n = ${n}) | patients | prevalence |`,
    '| --- | ---: | ---: |',
    row('acute heart failure', counts.ahf),
    row('pneumonia', counts.pna),
    row('atrial fibrillation', counts.af),
    row('heart failure and atrial fibrillation', counts.ahfAndAf),
    row('heart failure and pneumonia', counts.ahfAndPna),
    row('none of these', counts.none),
    '',
  ].join('\n');
}
