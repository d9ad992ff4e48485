import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findModelFolders } from './evaluate-reference-models.js';

/** Markers around the generated HTI-1 source-attribute table in `card.md`. */
export const HTI1_START = '<!-- hti1-source-attributes:start -->';
export const HTI1_END = '<!-- hti1-source-attributes:end -->';

/** How a card answers one attribute. */
export type Hti1Status = 'present' | 'partial' | 'not applicable' | 'not done';

/**
 * Which card: a risk model (RiskAssessment output), the similar-case retrieval model, or the
 * description drafter (preliminary DiagnosticReport text, issue 20).
 */
export type CardKind = 'risk' | 'retrieval' | 'drafting';

/** One card's answer to one attribute. */
export interface Hti1Answer {
  status: Hti1Status;
  /** The answer itself, or why the attribute is not applicable or not done. */
  text: string;
  /**
   * The card section (its `## ` heading, or the heading's start) that holds the detail, when one
   * does; a test checks every card has it, so the table never points at a section that is not there.
   */
  section?: string;
}

interface Attribute {
  /** Paragraph of 45 CFR 170.315(b)(11)(iv)(B), e.g. `(1)(i)`. */
  id: string;
  title: string;
  answer: Record<CardKind, Hti1Answer>;
}

/** An attribute as listed below: the drafter's answers are kept apart in {@link DRAFTING_ANSWERS}. */
type ListedAttribute = Omit<Attribute, 'answer'> & {
  answer: Record<Exclude<CardKind, 'drafting'>, Hti1Answer>;
};

const answer = (status: Hti1Status, text: string, section?: string): Hti1Answer =>
  section ? { status, text, section } : { status, text };

const both = (status: Hti1Status, text: string): ListedAttribute['answer'] => ({
  risk: answer(status, text),
  retrieval: answer(status, text),
});

const SYNTHETIC = 'the model is trained and tested on synthetic patients only and is not for clinical use';

// Section headings of the risk cards (models/training/cards.py) and of the retrieval card
// (models/training/train_clip.py, src/evaluation/evaluate-retrieval.ts).
const RISK = {
  details: 'Details and output of the intervention',
  purpose: 'Purpose of the intervention',
  cautioned: 'Cautioned out-of-scope use',
  development: 'Development details and input features',
  fairness: 'Process used to ensure fairness in development',
  external: 'External validation process',
  measures: 'Quantitative measures of performance',
  ood: 'Out-of-distribution detection',
  maintenance: 'Ongoing maintenance of intervention implementation and use',
} as const;
const RETRIEVAL = {
  intended: 'Intended use',
  architecture: 'Architecture',
  training: 'Training data',
  performance: 'Retrieval performance',
  limitations: 'Limitations',
} as const;

const LOCAL_VALIDATION =
  '`fhir-fusion validate` (README "Local validation") scores the hospital\u2019s own past patients from its EHR and reports it with 95 % intervals';

/**
 * The 31 source attributes of a predictive DSI, 45 CFR 170.315(b)(11)(iv)(B) (ONC HTI-1 final rule,
 * 9 January 2024), under its nine headings: details and output (1), purpose (2), cautioned
 * out-of-scope use (3), development details and input features (4), fairness in development (5),
 * external validation (6), quantitative measures of performance (7), ongoing maintenance (8), update
 * and continued validation or fairness assessment schedule (9). Titles are paraphrased; the CFR text
 * itself was not reachable from the development machine, so the split of items under headings (8)
 * and (9) follows published summaries of the rule and should be checked against eCFR by a
 * certification team. Each card answers every item: where in the card, or why it is not applicable
 * or not done — never silently absent. The retrieval model (similar cases) is not a predictive DSI
 * in the rule's sense (it ranks past cases, it predicts nothing); its card answers the same 31 so a
 * reviewer can compare.
 */
const LISTED_ATTRIBUTES: readonly ListedAttribute[] = [
  {
    id: '(1)(i)',
    title: 'Name and contact information for the intervention developer',
    answer: {
      risk: answer(
        'partial',
        'the fhir-fusion project (open source, Apache-2.0); contact is the project repository issue tracker — no named person, address or telephone',
        RISK.details,
      ),
      retrieval: answer(
        'partial',
        'the fhir-fusion project (open source, Apache-2.0); contact is the project repository issue tracker — no named person, address or telephone',
      ),
    },
  },
  {
    id: '(1)(ii)',
    title: 'Funding source of the intervention’s development',
    answer: {
      risk: answer('present', 'none: no external funding', RISK.details),
      retrieval: answer('present', 'none: no external funding'),
    },
  },
  {
    id: '(1)(iii)',
    title: 'Description of the value the intervention produces as output',
    answer: {
      risk: answer('present', 'three calibrated probabilities and risk bands', RISK.details),
      retrieval: answer(
        'present',
        'L2-normalised 64-d embeddings of an ECG and of report text; past cases ranked by cosine similarity',
        RETRIEVAL.architecture,
      ),
    },
  },
  {
    id: '(1)(iv)',
    title: 'Output type: prediction, classification, recommendation, evaluation, analysis or other',
    answer: {
      risk: answer('present', 'prediction (risk of three outcomes)', RISK.details),
      retrieval: answer(
        'present',
        'other: similarity retrieval of past cases, no prediction',
        RETRIEVAL.intended,
      ),
    },
  },
  {
    id: '(2)(i)',
    title: 'Intended use of the intervention',
    answer: {
      risk: answer('present', 'demonstrating and testing the fhir-fusion pipeline', RISK.purpose),
      retrieval: answer(
        'present',
        'similar-case retrieval in fhir-fusion, for demonstration and tests',
        RETRIEVAL.intended,
      ),
    },
  },
  {
    id: '(2)(ii)',
    title: 'Intended patient population(s)',
    answer: {
      risk: answer('present', `the synthetic adult cohort only; ${SYNTHETIC}`, RISK.purpose),
      retrieval: answer('present', `the synthetic adult cohort only; ${SYNTHETIC}`, RETRIEVAL.training),
    },
  },
  {
    id: '(2)(iii)',
    title: 'Intended user(s)',
    answer: {
      risk: answer(
        'present',
        'integration engineers and clinical-AI teams evaluating the software',
        RISK.purpose,
      ),
      retrieval: answer('present', 'integration engineers and clinical-AI teams evaluating the software'),
    },
  },
  {
    id: '(2)(iv)',
    title: 'Intended decision-making role (informs, augments, replaces)',
    answer: {
      risk: answer(
        'present',
        'none: results must not inform, augment or replace a clinical decision',
        RISK.purpose,
      ),
      retrieval: answer('present', 'none: results must not inform, augment or replace a clinical decision'),
    },
  },
  {
    id: '(3)(i)',
    title: 'Tasks, situations or populations where use is cautioned against',
    answer: {
      risk: answer('present', 'any use on real patients', RISK.cautioned),
      retrieval: answer('present', 'any use on real patients or recordings', RETRIEVAL.limitations),
    },
  },
  {
    id: '(3)(ii)',
    title: 'Known risks, inappropriate settings or uses, known limitations',
    answer: {
      risk: answer(
        'present',
        'synthetic generative story, invented effect sizes, missing-at-random assumption; inputs unlike the training data are refused by the out-of-distribution detectors',
        RISK.cautioned,
      ),
      retrieval: answer(
        'present',
        'synthetic ECGs and templated reports; near-duplicate reports bound recall; quality on real data unknown',
        RETRIEVAL.limitations,
      ),
    },
  },
  {
    id: '(4)(i)',
    title: 'Exclusion and inclusion criteria that influenced the training data set',
    answer: {
      risk: answer('present', 'none excluded', RISK.development),
      retrieval: answer('present', 'patients with an ECG and an ECG report', RETRIEVAL.training),
    },
  },
  {
    id: '(4)(ii)',
    title: 'Use of (b)(11)(iv)(A)(5)–(13) demographic variables as input features',
    answer: {
      risk: answer(
        'present',
        'age and sex are inputs where the model reads labs; race, ethnicity, language, sexual orientation, gender identity, SDOH are not',
        RISK.development,
      ),
      retrieval: answer(
        'present',
        'none: only the ECG (its waveform, or the 12-lead image rendered from it) and report text are inputs',
        RETRIEVAL.architecture,
      ),
    },
  },
  {
    id: '(4)(iii)',
    title: 'Demographic representativeness of the training data',
    answer: {
      risk: answer(
        'partial',
        'age and sex drawn by the synthetic generator; the cohort represents no real population and the other (A)(5)–(13) variables are not generated',
        RISK.development,
      ),
      retrieval: answer(
        'partial',
        'age and sex drawn by the synthetic generator; the cohort represents no real population and the other (A)(5)–(13) variables are not generated',
        RETRIEVAL.training,
      ),
    },
  },
  {
    id: '(4)(iv)',
    title: 'Relevance of the training data to the intended deployed setting',
    answer: both('not applicable', `no deployed clinical setting is intended: ${SYNTHETIC}`),
  },
  {
    id: '(5)(i)',
    title: 'Approach taken to ensure the output is fair',
    answer: {
      risk: answer(
        'partial',
        'performance and calibration reported per sex and age band; no fairness target set because the data are synthetic',
        RISK.fairness,
      ),
      retrieval: answer('not done', 'no subgroup analysis of retrieval yet; synthetic data only'),
    },
  },
  {
    id: '(5)(ii)',
    title: 'Approaches to manage, reduce or eliminate bias',
    answer: {
      risk: answer(
        'not done',
        'no mitigation beyond reporting: any subgroup difference reflects the generator, not a population',
        RISK.fairness,
      ),
      retrieval: answer(
        'not done',
        'no mitigation beyond reporting: any subgroup difference reflects the generator, not a population',
      ),
    },
  },
  {
    id: '(6)(i)',
    title: 'Data source, clinical setting or environment of external validation',
    answer: {
      risk: answer(
        'partial',
        'a synthetic second site from the same generator (other radiograph detector, lab units and case mix: the shifted-site test set, used for no training, tuning or design choice); no real-world data',
        RISK.measures,
      ),
      retrieval: answer(
        'not done',
        'no external validation: there is no real-world data; the test split comes from the same generator',
      ),
    },
  },
  {
    id: '(6)(ii)',
    title: 'Party that conducted the external testing',
    answer: both('not done', 'no external testing has been done'),
  },
  {
    id: '(6)(iii)',
    title: 'Demographic representativeness of the external data',
    answer: {
      risk: answer(
        'partial',
        'the shifted-site test set is synthetic: its sex and age mix is reported by subgroup, and represents no real population',
        RISK.measures,
      ),
      retrieval: answer('not done', 'no external data'),
    },
  },
  {
    id: '(6)(iv)',
    title: 'Description of the external validation process',
    answer: {
      risk: answer(
        'partial',
        `the process a site follows is described, not carried out: ${LOCAL_VALIDATION}`,
      ),
      retrieval: answer(
        'not done',
        '`fhir-fusion validate` covers the risk models only; no process for retrieval',
      ),
    },
  },
  {
    id: '(7)(i)',
    title: 'Validity in test data from the same source as the training data',
    answer: {
      risk: answer(
        'present',
        'AUROC, AUPRC, Brier, ECE with 95 % bootstrap intervals; sensitivity/specificity/PPV/NPV at the risk bands',
        RISK.measures,
      ),
      retrieval: answer(
        'present',
        'recall@1/5/10 and condition match on the held-out split',
        RETRIEVAL.performance,
      ),
    },
  },
  {
    id: '(7)(ii)',
    title: 'Fairness in test data from the same source as the training data',
    answer: {
      risk: answer('present', 'AUROC and ECE by sex and age band', RISK.measures),
      retrieval: answer('not done', 'retrieval is not yet reported by subgroup'),
    },
  },
  {
    id: '(7)(iii)',
    title: 'Validity in data external to, or from another source than, the training data',
    answer: {
      risk: answer(
        'partial',
        'AUROC, AUPRC, Brier, ECE with 95 % bootstrap intervals on the synthetic shifted-site test set (its own subsection); no real external data',
        RISK.measures,
      ),
      retrieval: answer('not done', 'no external data'),
    },
  },
  {
    id: '(7)(iv)',
    title: 'Fairness in external data',
    answer: {
      risk: answer(
        'partial',
        'AUROC by sex and age band on the synthetic shifted-site test set; no real external data',
        RISK.measures,
      ),
      retrieval: answer('not done', 'no external data'),
    },
  },
  {
    id: '(7)(v)',
    title: 'References to evaluations of the intervention’s effect on outcomes',
    answer: both('not applicable', `no clinical use, so no outcome evaluation exists: ${SYNTHETIC}`),
  },
  {
    id: '(8)(i)',
    title: 'Validity in local data',
    answer: {
      risk: answer('not done', `no site has validated it; the tool exists: ${LOCAL_VALIDATION}`),
      retrieval: answer(
        'not done',
        'no local validation of retrieval; `fhir-fusion validate` covers the risk models only',
      ),
    },
  },
  {
    id: '(8)(ii)',
    title: 'Fairness in local data',
    answer: {
      risk: answer(
        'not done',
        'no site has validated it; the local report gives each figure per age band and sex',
      ),
      retrieval: answer('not done', 'no local validation of retrieval'),
    },
  },
  {
    id: '(8)(iii)',
    title: 'Process and frequency of monitoring validity over time',
    answer: {
      risk: answer(
        'not done',
        'no in-service performance monitoring yet; inputs unlike the training data are flagged per patient by the out-of-distribution detectors',
        RISK.ood,
      ),
      retrieval: answer('not done', 'no in-service monitoring of retrieval'),
    },
  },
  {
    id: '(8)(iv)',
    title: 'Process and frequency of monitoring fairness over time',
    answer: both('not done', 'no in-service fairness monitoring yet'),
  },
  {
    id: '(9)(i)',
    title: 'Update and continued validation or fairness assessment schedule',
    answer: {
      risk: answer(
        'partial',
        're-created and re-evaluated whenever the generator, preprocessing or recipe changes; no calendar schedule',
        RISK.maintenance,
      ),
      retrieval: answer(
        'partial',
        're-created (models/training/build-all.sh) and re-evaluated (`npm run models:evaluate -- retrieval`) whenever the generator, preprocessing or recipe changes; no calendar schedule',
      ),
    },
  },
  {
    id: '(9)(ii)',
    title: 'Frequency by which performance is corrected when validity or fairness risks are found',
    answer: both(
      'not done',
      'no correction process: a new model version folder is added for any change in weights',
    ),
  },
];

// Section headings of the drafting card (models/training/train_caption.py, src/evaluation/evaluate-drafting.ts).
const DRAFTING = {
  intended: 'Intended use',
  architecture: 'Architecture',
  training: 'Training data',
  limitations: 'Limitations',
  performance: 'Drafting performance',
} as const;

/**
 * The description drafter's answers (issue 20), by attribute. It is not a predictive DSI either (it
 * drafts text for a clinician to accept or reject); it answers the same 31 so a reviewer can compare.
 */
const DRAFTING_ANSWERS: Record<string, Hti1Answer> = {
  '(1)(i)': answer(
    'partial',
    'the fhir-fusion project (open source, Apache-2.0); contact is the project repository issue tracker — no named person, address or telephone',
  ),
  '(1)(ii)': answer('present', 'none: no external funding'),
  '(1)(iii)': answer(
    'present',
    'a draft of the FINDINGS and IMPRESSION of a chest radiograph, words of a closed vocabulary, capped in length',
    DRAFTING.intended,
  ),
  '(1)(iv)': answer(
    'present',
    'other: draft text for clinician review (a preliminary DiagnosticReport), no prediction',
    DRAFTING.intended,
  ),
  '(2)(i)': answer(
    'present',
    'drafting preliminary radiograph descriptions in fhir-fusion, for demonstration and tests',
    DRAFTING.intended,
  ),
  '(2)(ii)': answer('present', `the synthetic adult cohort only; ${SYNTHETIC}`, DRAFTING.training),
  '(2)(iii)': answer('present', 'integration engineers and clinical-AI teams evaluating the software'),
  '(2)(iv)': answer('present', 'none: results must not inform, augment or replace a clinical decision'),
  '(3)(i)': answer('present', 'any use on real patients or images', DRAFTING.limitations),
  '(3)(ii)': answer(
    'present',
    'templated synthetic reports; subtle findings are missed at 64×64; more normal studies get a false finding than the issue-20 target allows',
    DRAFTING.limitations,
  ),
  '(4)(i)': answer('present', 'patients with a chest radiograph and a radiology report', DRAFTING.training),
  '(4)(ii)': answer('present', 'none: only the radiograph is an input', DRAFTING.architecture),
  '(4)(iii)': answer(
    'partial',
    'age and sex drawn by the synthetic generator; the cohort represents no real population and the other (A)(5)–(13) variables are not generated',
    DRAFTING.training,
  ),
  '(4)(iv)': answer('not applicable', `no deployed clinical setting is intended: ${SYNTHETIC}`),
  '(5)(i)': answer('not done', 'no subgroup analysis of drafting yet; synthetic data only'),
  '(5)(ii)': answer(
    'not done',
    'no mitigation beyond reporting: any subgroup difference reflects the generator, not a population',
  ),
  '(6)(i)': answer(
    'partial',
    'a synthetic second site from the same generator (the shifted-site test set, used for no training, tuning or design choice); no real-world data',
    DRAFTING.performance,
  ),
  '(6)(ii)': answer('not done', 'no external testing has been done'),
  '(6)(iii)': answer(
    'not done',
    'the shifted-site test set is synthetic and drafting is not reported by subgroup',
  ),
  '(6)(iv)': answer(
    'not done',
    '`fhir-fusion validate` covers the risk models only; no process for drafting',
  ),
  '(7)(i)': answer(
    'present',
    'BLEU-4, ROUGE-L, per-finding precision/recall/F1 and clean normal studies with 95 % bootstrap intervals, beside a baseline',
    DRAFTING.performance,
  ),
  '(7)(ii)': answer('not done', 'drafting is not yet reported by subgroup'),
  '(7)(iii)': answer(
    'partial',
    'the same figures on the synthetic shifted-site test set; no real external data',
    DRAFTING.performance,
  ),
  '(7)(iv)': answer('not done', 'drafting is not yet reported by subgroup'),
  '(7)(v)': answer('not applicable', `no clinical use, so no outcome evaluation exists: ${SYNTHETIC}`),
  '(8)(i)': answer(
    'not done',
    'no local validation of drafting; `fhir-fusion validate` covers the risk models only',
  ),
  '(8)(ii)': answer('not done', 'no local validation of drafting'),
  '(8)(iii)': answer(
    'not done',
    'no in-service monitoring of drafting; clinician acceptance or rejection of drafts is not yet tallied',
  ),
  '(8)(iv)': answer('not done', 'no in-service fairness monitoring yet'),
  '(9)(i)': answer(
    'partial',
    're-created (models/training/build-all.sh) and re-evaluated (`npm run models:evaluate -- drafting`) whenever the generator, preprocessing or recipe changes; no calendar schedule',
  ),
  '(9)(ii)': answer(
    'not done',
    'no correction process: a new model version folder is added for any change in weights',
  ),
};

/**
 * The 31 attributes with every card kind's answer (see {@link LISTED_ATTRIBUTES} for the rule and
 * the risk and retrieval answers, {@link DRAFTING_ANSWERS} for the drafter's).
 */
export const HTI1_SOURCE_ATTRIBUTES: readonly Attribute[] = LISTED_ATTRIBUTES.map((a) => {
  const drafting = DRAFTING_ANSWERS[a.id];
  if (!drafting) throw new Error(`HTI-1 attribute ${a.id} has no drafting answer`);
  return { ...a, answer: { ...a.answer, drafting } };
});

/** The table cell for one answer: the answer, then the section that details it. */
export function answerCell(a: Hti1Answer): string {
  return a.section ? `${a.text} (see “${a.section}”)` : a.text;
}

/** The Markdown table for one card kind, between the markers. */
export function renderHti1Section(kind: CardKind): string {
  const rows = HTI1_SOURCE_ATTRIBUTES.map((a) => {
    const cell = a.answer[kind];
    return `| ${a.id} | ${a.title} | ${cell.status} | ${answerCell(cell)} |`;
  });
  return [
    HTI1_START,
    '## ONC HTI-1 source attributes',
    '',
    'The 31 source attributes of a predictive decision support intervention, 45 CFR 170.315(b)(11)(iv)(B)(1)–(9) (titles paraphrased; the item split under (8) and (9) follows published summaries of the rule, to be checked against eCFR). “Not done” and “not applicable” say why. Synthetic data only; not for clinical use.',
    '',
    '| § (b)(11)(iv)(B) | attribute | status | where in this card, or why not |',
    '| --- | --- | --- | --- |',
    ...rows,
    HTI1_END,
  ].join('\n');
}

/** Insert or replace the HTI-1 section at the end of a card. */
export function replaceHti1Section(card: string, section: string): string {
  const start = card.indexOf(HTI1_START);
  const end = card.indexOf(HTI1_END);
  if (start === -1 || end === -1 || end < start) return `${card.trimEnd()}\n\n${section}\n`;
  return `${card.slice(0, start)}${section}${card.slice(end + HTI1_END.length)}`;
}

/** Writes the section into every card under `modelsDir` and refreshes each manifest's sha256 list. */
export function writeHti1Sections(modelsDir: string): string[] {
  const written: string[] = [];
  const folders: Array<{ folder: string; kind: CardKind; manifest: string }> = findModelFolders(
    modelsDir,
  ).map((m) => ({ folder: m.folder, kind: 'risk', manifest: 'manifest.json' }));
  // Every version of the retrieval model (issue 20 added the ViT over the rendered ECG as version 2).
  const clip = join(modelsDir, 'ecg-report-clip');
  const versions = existsSync(clip) ? readdirSync(clip).sort() : [];
  for (const version of versions) {
    const folder = join(clip, version);
    if (existsSync(join(folder, 'card.md')) && existsSync(join(folder, 'embedding-manifest.json')))
      folders.push({ folder, kind: 'retrieval', manifest: 'embedding-manifest.json' });
  }
  const drafter = join(modelsDir, 'report-drafter', '1');
  if (existsSync(join(drafter, 'card.md')))
    folders.push({ folder: drafter, kind: 'drafting', manifest: 'draft-manifest.json' });
  for (const { folder, kind, manifest } of folders) {
    const cardPath = join(folder, 'card.md');
    writeFileSync(cardPath, replaceHti1Section(readFileSync(cardPath, 'utf8'), renderHti1Section(kind)));
    // Only the card's sha256 changes; the manifests pin every file (models verify checks them).
    const manifestPath = join(folder, manifest);
    const parsed = JSON.parse(readFileSync(manifestPath, 'utf8')) as { files?: Record<string, string> };
    if (parsed.files && 'card.md' in parsed.files) {
      parsed.files['card.md'] = createHash('sha256').update(readFileSync(cardPath)).digest('hex');
      writeFileSync(manifestPath, `${JSON.stringify(parsed, null, 2)}\n`);
    }
    written.push(cardPath);
  }
  return written;
}

// `npx tsx src/evaluation/hti1-source-attributes.ts [models]`: (re)writes the sections.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const path of writeHti1Sections(resolve(process.argv[2] ?? 'models')))
    process.stdout.write(`${path}\n`);
}
