/**
 * Feature export for the description-drafting model (`models/training/train_caption.py`, issue 20).
 *
 * The radiograph tensors come from the reference feature export (`export-features.ts`, run first):
 * same seed, same patient order, so row i of its `image.npy` is patient i here. This script adds
 * what that export lacks: each patient's radiology report (DiagnosticReport category `RAD`, HL7 v2
 * table 0074) reduced to its FINDINGS and IMPRESSION sentences with identifiers and dates stripped
 * (`reportDescriptionTarget`), as word tokens against a vocabulary built from the training split
 * only. The labels of both exports are compared row by row, so a changed generator cannot silently
 * misalign image and report. Reports do not depend on signals, so the cohort is regenerated in
 * labels-only mode (no pixels), which draws the same report text.
 *
 *   npx tsx models/training/export-caption-features.ts [--cohort /work/data/cohort] [--out models/training/.data/caption]
 *
 * **One wording per meaning.** The reports say one thing several ways ("The heart is enlarged.",
 * "Cardiomegaly."). Trained on all of them, a greedy decoder splits an abnormal finding's
 * probability across its wordings while the normal statements share their first word ("No …"),
 * so it writes "normal" even when the image looks abnormal. The word ids therefore come from the
 * target with each sentence that mentions a finding replaced by the training split's most frequent
 * sentence with the same finding signature (`findingSignature`: each finding with its negation-aware
 * assertion, and the side and zone words); sentences that mention no finding are kept. The
 * evaluation compares drafts with the original report text (`target_text.json`), never with this
 * (`training_text.json`).
 *
 * Writes `vocabulary.json` (`{tokens}`; ids 0–3 are `<pad>`, `<bos>`, `<eos>`, `<unk>`) and per
 * split `target_tokens.npy` (int64 [n, maxTokens]: the words then `<eos>`, padded),
 * `has_target.npy` (float32 [n]), `findings.npy` (float32 [n, 6]: the findings the target asserts,
 * read by the project's negation-aware extraction in `RADIOGRAPH_FINDINGS` order; the training
 * script's auxiliary image-level loss) and `target_text.json` (the target strings, `null` without a
 * report).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { DiagnosticReport } from '@medplum/fhirtypes';
import { parseNpy, serializeNpy } from '../../src/inference/manifest/npy-format.js';
import { descriptionWords, reportDescriptionTarget } from '../../src/preprocess/text/draft-target.js';
import { extractReportText } from '../../src/preprocess/text/extract-report-text.js';
import {
  findingSignature,
  RADIOGRAPH_FINDINGS,
  radiographFindings,
} from '../../src/preprocess/text/radiograph-findings.js';
import { generateCohort, shiftedSite, type CohortOptions } from '../../src/sandbox/cohort/index.js';
import { SHIFTED_PREVALENCE } from './export-features.js';

const LABEL_ORDER = ['acuteHeartFailure', 'pneumonia', 'atrialFibrillation'] as const;
/** Special tokens, in id order (the TypeScript decoder reads them from the vocabulary file). */
export const DRAFT_SPECIAL_TOKENS = ['<pad>', '<bos>', '<eos>', '<unk>'] as const;
/** Longest target in words + `<eos>`; longer targets are cut (none in the synthetic cohort). */
const MAX_TOKENS = 96;
/** A word must occur this often in training targets to enter the vocabulary. */
const MIN_COUNT = 3;

/** The description target of a generated patient's radiology report, if it has one. */
function radiologyTarget(resources: readonly { resourceType: string }[]): string | undefined {
  for (const r of resources) {
    if (r.resourceType !== 'DiagnosticReport') continue;
    const report = r as DiagnosticReport;
    if (!report.category?.some((c) => c.coding?.some((k) => k.code === 'RAD'))) continue;
    // The presented form alone: `extractReportText` puts `conclusion` first, which repeats the impression.
    const text = extractReportText({ ...report, conclusion: undefined });
    if (text.ok && text.value.text) return reportDescriptionTarget(text.value.text);
  }
  return undefined;
}

/** Sentences of a target (split after a full stop). */
function sentencesOf(text: string): string[] {
  return text.split(/(?<=\.)\s+/).filter((s) => s.length > 0);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      cohort: { type: 'string', default: 'models/training/.data/cohort' },
      out: { type: 'string', default: 'models/training/.data/caption' },
    },
  });
  const cohortDir = resolve(values.cohort);
  const out = resolve(values.out);
  const dataset = JSON.parse(readFileSync(join(cohortDir, 'dataset.json'), 'utf8')) as {
    seed: number;
    counts: Record<'train' | 'validation' | 'test' | 'test-shifted', number>;
  };
  const now = new Date('2026-01-15T12:00:00Z');
  // Same split seeds and site options as export-features.ts (split i uses seed + i).
  const splits = [
    ['train', {}],
    ['validation', {}],
    ['test', {}],
    ['test-shifted', { site: shiftedSite, prevalence: SHIFTED_PREVALENCE }],
  ] as const satisfies ReadonlyArray<readonly [string, Partial<CohortOptions>]>;
  const texts: Record<string, Array<string | undefined>> = {};
  for (const [offset, [split, options]] of splits.entries()) {
    const labels = parseNpy(readFileSync(join(cohortDir, split, 'labels.npy')));
    const rows: Array<string | undefined> = [];
    let index = 0;
    for (const p of generateCohort({
      patients: dataset.counts[split],
      seed: dataset.seed + offset,
      now,
      dicomwebBaseUrl: 'http://localhost/dicomweb',
      labelsOnly: true,
      ...options,
    })) {
      LABEL_ORDER.forEach((k, j) => {
        const expected = Number(labels.data[index * LABEL_ORDER.length + j]);
        if (expected !== (p.labels.conditions[k] ? 1 : 0))
          throw new Error(
            `${split} row ${index}: labels differ from the cohort export; re-run export-features.ts`,
          );
      });
      rows.push(radiologyTarget(p.resources));
      index++;
    }
    texts[split] = rows;
  }
  // One wording per finding signature, chosen on the training split only.
  const bySignature = new Map<string, Map<string, number>>();
  for (const t of texts.train ?? [])
    for (const sentence of sentencesOf(t ?? '')) {
      const signature = findingSignature(sentence);
      if (!signature) continue;
      const seen = bySignature.get(signature) ?? new Map<string, number>();
      seen.set(sentence, (seen.get(sentence) ?? 0) + 1);
      bySignature.set(signature, seen);
    }
  const canonical = new Map(
    [...bySignature].map(([signature, seen]) => [
      signature,
      [...seen].sort(([a, x], [b, y]) => y - x || a.localeCompare(b))[0]![0],
    ]),
  );
  const trainingText = (t: string): string =>
    sentencesOf(t)
      .map((sentence) => canonical.get(findingSignature(sentence)) ?? sentence)
      .join(' ');
  // Vocabulary from the training split only (validation and test words the model never saw are <unk>).
  const counts = new Map<string, number>();
  for (const t of texts.train ?? [])
    if (t) for (const w of descriptionWords(trainingText(t))) counts.set(w, (counts.get(w) ?? 0) + 1);
  const words = [...counts.entries()]
    .filter(([, n]) => n >= MIN_COUNT)
    .sort(([a, x], [b, y]) => y - x || a.localeCompare(b))
    .map(([w]) => w);
  const tokens = [...DRAFT_SPECIAL_TOKENS, ...words];
  const ids = new Map(tokens.map((t, i) => [t, i]));
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'vocabulary.json'), `${JSON.stringify({ tokens }, null, 1)}\n`);
  let longest = 0;
  for (const [split] of splits) {
    const rows = texts[split] ?? [];
    const ids2 = new BigInt64Array(rows.length * MAX_TOKENS);
    const has = new Float32Array(rows.length);
    const findings = new Float32Array(rows.length * RADIOGRAPH_FINDINGS.length);
    rows.forEach((text, i) => {
      if (text === undefined) return;
      has[i] = 1;
      const asserted = radiographFindings(text);
      RADIOGRAPH_FINDINGS.forEach(
        (f, k) => (findings[i * RADIOGRAPH_FINDINGS.length + k] = asserted.has(f) ? 1 : 0),
      );
      const seq = descriptionWords(trainingText(text)).map((w) => ids.get(w) ?? 3);
      longest = Math.max(longest, seq.length + 1);
      seq.slice(0, MAX_TOKENS - 1).forEach((id, k) => (ids2[i * MAX_TOKENS + k] = BigInt(id)));
      ids2[i * MAX_TOKENS + Math.min(seq.length, MAX_TOKENS - 1)] = 2n;
    });
    mkdirSync(join(out, split), { recursive: true });
    writeFileSync(
      join(out, split, 'target_tokens.npy'),
      serializeNpy({ dtype: 'int64', shape: [rows.length, MAX_TOKENS], data: ids2 }),
    );
    writeFileSync(
      join(out, split, 'has_target.npy'),
      serializeNpy({ dtype: 'float32', shape: [rows.length], data: has }),
    );
    writeFileSync(
      join(out, split, 'findings.npy'),
      serializeNpy({ dtype: 'float32', shape: [rows.length, RADIOGRAPH_FINDINGS.length], data: findings }),
    );
    writeFileSync(join(out, split, 'target_text.json'), `${JSON.stringify(rows.map((t) => t ?? null))}\n`);
    writeFileSync(
      join(out, split, 'training_text.json'),
      `${JSON.stringify(rows.map((t) => (t ? trainingText(t) : null)))}\n`,
    );
    process.stdout.write(
      `${split}: ${rows.length} patients, ${has.reduce((a, b) => a + b, 0)} with a radiology report\n`,
    );
  }
  process.stdout.write(
    `vocabulary: ${tokens.length} tokens; longest target ${longest} tokens (cap ${MAX_TOKENS})\n`,
  );
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
}
