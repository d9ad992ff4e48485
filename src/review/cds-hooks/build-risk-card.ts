import type { Coding, RiskAssessment } from '@medplum/fhirtypes';
import type { CdsCard, CdsLink } from './cds-hooks-types.js';
import { cardDetailMarkdown, percent } from './card-detail-markdown.js';
import { readNotAssessed } from './read-contributions.js';
import { headlinePrediction, indicatorFor, riskCode } from './risk-indicator.js';
import type { LatestAssessment } from './select-latest-assessments.js';
import { IMAGING_FINDING_DISPLAY_PREFIX } from '../../writeback/build-imaging-finding.js';

/** CDS Hooks 2.0 §Card attributes: summary "SHOULD be under 140 characters". */
export const SUMMARY_MAX = 139;

/** The model a card is about, as the card's `source` names it. */
export interface CardModel {
  /** Human label with version (`source.label`, required by §Source). */
  label: string;
  /** Where its model card can be read (`source.url`), when this server serves the model. */
  cardUrl?: string;
}

/** What every card needs besides the assessment. */
export interface CardContext {
  /** SMART launch URL of the review app (`/review/launch`); the client adds `iss` and `launch`. */
  reviewLaunchUrl: string;
  /** Assessments older than this many ms get an out-of-date info card instead. */
  maxAgeMs: number;
  now: number;
  newUuid: () => string;
  model: (latest: LatestAssessment) => CardModel;
  /** Preliminary AI-drafted descriptions of the patient awaiting a clinician's review (issue #20). */
  pendingDrafts?: number;
}

/** The line a card carries when AI-drafted descriptions await review (issue #20). */
export function pendingDraftsNote(count: number): string {
  const what = count === 1 ? 'A preliminary AI-drafted description' : `${count} preliminary AI-drafted descriptions`;
  return `**${what} of the chest radiograph ${count === 1 ? 'awaits' : 'await'} clinician review** in the review app: not reviewed, not final.`;
}

/**
 * Adds the awaiting-review line and a `smart` link into the review app (which lists the drafts with
 * Accept as final / Reject) to a card, when there are drafts; the card is unchanged otherwise.
 */
function withPendingDrafts(card: CdsCard, ctx: CardContext): CdsCard {
  const count = ctx.pendingDrafts ?? 0;
  if (count <= 0) return card;
  const note = pendingDraftsNote(count);
  return {
    ...card,
    detail: card.detail ? `${card.detail}\n\n${note}` : note,
    links: [...(card.links ?? []), { label: 'Review the AI-drafted description', url: ctx.reviewLaunchUrl, type: 'smart' }],
  };
}

/** Override reasons offered with every card (§Overridden guidance: card.overrideReasons). */
export const OVERRIDE_REASONS: readonly Coding[] = [
  { system: 'https://fhir-fusion.dev/fhir/CodeSystem/cds-override-reason', code: 'already-addressed', display: 'Already addressed' },
  { system: 'https://fhir-fusion.dev/fhir/CodeSystem/cds-override-reason', code: 'not-clinically-relevant', display: 'Not clinically relevant' },
  { system: 'https://fhir-fusion.dev/fhir/CodeSystem/cds-override-reason', code: 'disagree-with-assessment', display: 'Disagree with the assessment' },
];

/** Shortens to {@link SUMMARY_MAX} characters, ending with an ellipsis when cut. */
export function clampSummary(text: string): string {
  const chars = [...text];
  return chars.length <= SUMMARY_MAX ? text : `${chars.slice(0, SUMMARY_MAX - 1).join('').trimEnd()}…`;
}

function capitalised(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** "Acute heart failure" → "acute heart failure" inside a sentence; "NT-proBNP…" stays as written. */
function inSentence(text: string): string {
  return /^[A-Z][a-z]/.test(text) ? text.charAt(0).toLowerCase() + text.slice(1) : text;
}

function reviewLink(ctx: CardContext, ra: RiskAssessment): CdsLink {
  return {
    label: 'Open in fhir-fusion review',
    url: ctx.reviewLaunchUrl,
    // §Link: "smart" links are launched by the client with iss + launch; appContext is passed through.
    type: 'smart',
    ...(ra.id ? { appContext: JSON.stringify({ riskAssessment: `RiskAssessment/${ra.id}` }) } : {}),
  };
}

/**
 * Issue #20: when the assessment rests on localised imaging findings (basis entries named
 * {@link IMAGING_FINDING_DISPLAY_PREFIX}), a second `smart` link opens the review app on the image
 * with the model's region overlaid; the label says what the overlay is and is not.
 */
function localisationLinks(ctx: CardContext, ra: RiskAssessment): CdsLink[] {
  const findings = (ra.basis ?? []).filter((b) => b.display?.startsWith(IMAGING_FINDING_DISPLAY_PREFIX) && b.reference);
  if (findings.length === 0 || !ra.id) return [];
  const names = findings.map((f) => f.display!.slice(IMAGING_FINDING_DISPLAY_PREFIX.length)).filter(Boolean);
  return [
    {
      label: `Where on the image: ${names.join(', ') || 'finding'} (AI-localised, preliminary: not a diagnosis)`,
      url: ctx.reviewLaunchUrl,
      type: 'smart',
      appContext: JSON.stringify({ riskAssessment: `RiskAssessment/${ra.id}`, findings: findings.map((f) => f.reference) }),
    },
  ];
}

/**
 * One CDS Hooks card for the newest assessment of one model: summary naming the risk and outcome
 * ("High risk of acute heart failure (61%)"),
 * indicator from the qualitative risk, markdown detail with contributions, source with the model
 * label/version and model-card link, a `smart` link into the review app and a uuid for feedback.
 * An assessment older than `maxAgeMs` gives an `info` card that says so and shows no risk.
 * Preliminary AI-drafted descriptions awaiting review (`ctx.pendingDrafts`) add a line and a link.
 */
export function buildRiskCard(latest: LatestAssessment, ctx: CardContext): CdsCard {
  return withPendingDrafts(riskCard(latest, ctx), ctx);
}

function riskCard(latest: LatestAssessment, ctx: CardContext): CdsCard {
  const ra = latest.assessment;
  const model = ctx.model(latest);
  const source = { label: model.label, ...(model.cardUrl ? { url: model.cardUrl } : {}) };
  const links = [reviewLink(ctx, ra), ...localisationLinks(ctx, ra)];
  const ageMs = ctx.now - latest.at;
  if (ageMs > ctx.maxAgeMs) {
    const days = Math.floor(ageMs / 86_400_000);
    return {
      uuid: ctx.newUuid(),
      summary: clampSummary(`No current multimodal risk assessment (last one ${days} day${days === 1 ? '' : 's'} old)`),
      detail: `The latest assessment by ${model.label} is older than the configured maximum age, so its risk is not shown here. Open the review app to see it.`,
      indicator: 'info',
      source,
      links,
    };
  }
  const headline = headlinePrediction(ra.prediction ?? []);
  const notAssessed = readNotAssessed(ra);
  if (!headline && notAssessed.length > 0) {
    // Issue #17: every outcome abstained. Say "cannot assess" with the reason — an info card, never
    // a risk, so a thin record cannot read as reassurance.
    const reasons = [...new Set(notAssessed.map((n) => n.detail ?? n.reason.toLowerCase()))];
    return {
      uuid: ctx.newUuid(),
      summary: clampSummary(`Cannot assess: ${reasons.join('; ')}`),
      detail: cardDetailMarkdown(ra, undefined),
      indicator: 'info',
      source,
      links,
    };
  }
  if (!headline) {
    return {
      uuid: ctx.newUuid(),
      summary: clampSummary('Multimodal risk assessment has no predictions'),
      indicator: 'info',
      source,
      links,
    };
  }
  const code = riskCode(headline);
  const outcome = headline.outcome?.text ?? headline.outcome?.coding?.[0]?.display ?? 'the outcome';
  const pct = headline.probabilityDecimal === undefined ? '' : ` (${percent(headline.probabilityDecimal)})`;
  return {
    uuid: ctx.newUuid(),
    // The summary names the outcome; the model is named by `source.label` (§Source), which CDS
    // clients show with every card, so the summary stays short and readable (§Card: < 140 chars).
    summary: clampSummary(`${capitalised(code ?? 'unknown')} risk of ${inSentence(outcome)}${pct}`),
    detail: cardDetailMarkdown(ra, headline),
    indicator: indicatorFor(code),
    source,
    links,
    overrideReasons: [...OVERRIDE_REASONS],
  };
}
