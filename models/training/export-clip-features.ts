/**
 * Feature export for the ECG ↔ report contrastive model (`models/training/train_clip.py`).
 *
 * The ECG tensors come from the reference feature export (`models/training/export-features.ts`,
 * run first): same seed, same patient order, so row i of its `ecg_waveform.npy` is patient i here.
 * This script adds what that export lacks: the ECG interpretation report (DiagnosticReport
 * category `EC`, HL7 v2 table 0074) of each patient, tokenised with the project's own report
 * tokeniser against a vocabulary built from the training split's ECG reports, plus the raw
 * report text (for the evaluation's text queries). The labels of both exports are compared row by
 * row, so a changed generator cannot silently misalign ECG and report.
 *
 *   npx tsx models/training/export-clip-features.ts [--cohort models/training/.data/cohort] [--out models/training/.data/clip]
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { DiagnosticReport } from '@medplum/fhirtypes';
import { parseNpy, serializeNpy } from '../../src/inference/manifest/npy-format.js';
import { buildVocabulary } from '../../src/preprocess/text/build-vocabulary.js';
import { extractReportText } from '../../src/preprocess/text/extract-report-text.js';
import { tokenizeReport } from '../../src/preprocess/text/tokenize-report.js';
import { parseVocabulary } from '../../src/preprocess/text/vocabulary.js';
import { generateCohort } from '../../src/sandbox/cohort/index.js';
import { ECG_REPORT_TEXT_SPEC } from '../../src/similar-cases/ecg-report-text.js';

const LABEL_ORDER = ['acuteHeartFailure', 'pneumonia', 'atrialFibrillation'] as const;

/** The ECG interpretation report's text of a generated patient, if it has one. */
function ecgReportText(resources: readonly { resourceType: string }[]): string | undefined {
  for (const r of resources) {
    if (r.resourceType !== 'DiagnosticReport') continue;
    const report = r as DiagnosticReport;
    const isEcg = report.category?.some((c) => c.coding?.some((k) => k.code === 'EC'));
    if (!isEcg) continue;
    const text = extractReportText(report);
    if (text.ok && text.value.text) return text.value.text;
  }
  return undefined;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      cohort: { type: 'string', default: 'models/training/.data/cohort' },
      out: { type: 'string', default: 'models/training/.data/clip' },
    },
  });
  const cohortDir = resolve(values.cohort);
  const out = resolve(values.out);
  const dataset = JSON.parse(readFileSync(join(cohortDir, 'dataset.json'), 'utf8')) as {
    seed: number;
    counts: Record<'train' | 'validation' | 'test', number>;
  };
  // Same fixed `now` as export-features.ts: timestamps (and so the cohort) derive from it.
  const now = new Date('2026-01-15T12:00:00Z');
  const splits = ['train', 'validation', 'test'] as const;
  const texts: Record<string, Array<string | undefined>> = {};
  for (const [offset, split] of splits.entries()) {
    const labels = parseNpy(readFileSync(join(cohortDir, split, 'labels.npy')));
    const rows: Array<string | undefined> = [];
    let index = 0;
    for (const p of generateCohort({ patients: dataset.counts[split], seed: dataset.seed + offset, now, dicomwebBaseUrl: 'http://localhost/dicomweb', imageSize: 64 })) {
      LABEL_ORDER.forEach((k, j) => {
        const expected = Number(labels.data[index * LABEL_ORDER.length + j]);
        if (expected !== (p.labels.conditions[k] ? 1 : 0)) throw new Error(`${split} row ${index}: labels differ from the cohort export; re-run export-features.ts`);
      });
      rows.push(ecgReportText(p.resources));
      index++;
    }
    texts[split] = rows;
  }
  const vocabularyFile = buildVocabulary(
    (texts.train ?? []).filter((t): t is string => t !== undefined),
    { lowercase: ECG_REPORT_TEXT_SPEC.lowercase, negationPrefix: ECG_REPORT_TEXT_SPEC.negationPrefix, minCount: 3, maxSize: 2000 },
  );
  const vocabulary = parseVocabulary(vocabularyFile);
  if (!vocabulary.ok) throw new Error(vocabulary.detail);
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'vocabulary.json'), JSON.stringify({ tokens: vocabulary.value.tokens }));
  for (const split of splits) {
    const rows = texts[split] ?? [];
    const n = ECG_REPORT_TEXT_SPEC.maxTokens;
    const tokens = new BigInt64Array(rows.length * n);
    const has = new Float32Array(rows.length);
    rows.forEach((text, i) => {
      if (text === undefined) return;
      has[i] = 1;
      tokens.set(tokenizeReport(text, vocabulary.value, ECG_REPORT_TEXT_SPEC).ids, i * n);
    });
    mkdirSync(join(out, split), { recursive: true });
    writeFileSync(join(out, split, 'report_tokens.npy'), serializeNpy({ dtype: 'int64', shape: [rows.length, n], data: tokens }));
    writeFileSync(join(out, split, 'has_report.npy'), serializeNpy({ dtype: 'float32', shape: [rows.length], data: has }));
    writeFileSync(join(out, split, 'report_text.json'), JSON.stringify(rows.map((t) => t ?? null)));
    process.stdout.write(`${split}: ${rows.length} patients, ${has.reduce((a, b) => a + b, 0)} with an ECG report\n`);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
}
