import type { HumanName, Patient } from '@medplum/fhirtypes';
import { unversioned, type AssessmentView, type PredictionView } from './assessment-view.js';
import { ecgStripSvg } from './ecg-strip-svg.js';
import type { ReviewView } from './feedback-provenance.js';
import { escapeHtml } from '../../http/escape-html.js';
import { pageShell } from './html.js';
import { inputSummary } from './input-summary.js';
import type { AssessmentDetail, InputView, ReviewData } from './load-review-data.js';
import { contributionChartSvg, trendChartSvg, type TrendSeries } from './svg-charts.js';
import { renderDrafts } from './draft-section.js';

/** Links and tokens the page needs besides the data. */
export interface ReviewPageContext {
  /** `/review` prefix of the app's routes. */
  prefix: string;
  /** FHIR base the data came from (the session's `iss`). */
  iss: string;
  csrfToken: string;
  /** A one-line notice after a redirect (e.g. "Feedback saved"). */
  notice: string | undefined;
  /** Signed-in clinician (`fhirUser`), shown in the header. */
  fhirUser: string | undefined;
}

function patientName(patient: Patient): string {
  const name: HumanName | undefined = patient.name?.find((n) => n.use === 'official') ?? patient.name?.[0];
  if (!name) return `Patient ${patient.id ?? ''}`;
  if (name.text) return name.text;
  return [name.family?.toUpperCase(), (name.given ?? []).join(' ')].filter(Boolean).join(', ');
}

function age(birthDate: string | undefined): string {
  if (!birthDate) return '';
  const born = new Date(birthDate);
  const now = new Date();
  let years = now.getUTCFullYear() - born.getUTCFullYear();
  if (now.getUTCMonth() < born.getUTCMonth() || (now.getUTCMonth() === born.getUTCMonth() && now.getUTCDate() < born.getUTCDate())) years--;
  return `${years} y`;
}

function when(iso: string | undefined): string {
  if (!iso) return 'unknown time';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : `${d.toISOString().slice(0, 10)} ${d.toISOString().slice(11, 16)} UTC`;
}

function percent(p: number | undefined): string {
  return p === undefined ? '—' : `${(p * 100).toFixed(p < 0.1 ? 1 : 0)}%`;
}

/** CSS class suffix of a risk-probability code; inline styles are not allowed by the page's CSP. */
function riskClass(code: string | undefined): string {
  return code && /^[a-z]+$/.test(code) ? code : 'unknown';
}

/** `c_reactive_protein` → `C reactive protein`: manifest feature names are identifiers, not labels. */
function featureLabel(name: string): string {
  const words = name.replace(/_/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** Four significant digits at most: the stored value is a float32 from the model input. */
function formatValue(value: number | undefined): string {
  if (value === undefined) return '—';
  return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(4)));
}

/** UCUM `1` is "dimensionless" (UCUM §2.2): show nothing rather than a bare 1. */
function displayUnit(unit: string | undefined): string {
  return !unit || unit === '1' ? '' : unit;
}

function riskBadge(p: PredictionView): string {
  // Issue #17: an outcome the model abstained on reads "Cannot assess", never a risk band.
  if (p.notAssessed !== undefined) return `<span class="risk-badge risk-unknown">Cannot assess</span>`;
  return `<span class="risk-badge risk-${riskClass(p.riskCode)}">${escapeHtml(p.riskDisplay ?? 'Unknown')}</span>`;
}

function banner(data: ReviewData, ctx: ReviewPageContext): string {
  const p = data.patient;
  const mrn = p.identifier?.find((i) => i.type?.coding?.some((c) => c.code === 'MR'))?.value ?? p.identifier?.[0]?.value;
  return `<header class="banner">
  <div class="brand"><span class="logo" aria-hidden="true">◆</span> AI risk review <span class="brand-sub">fhir-fusion</span></div>
  <div class="patient" aria-label="Patient in context">
    <strong class="patient-name">${escapeHtml(patientName(p))}</strong>
    <span>${escapeHtml(p.gender ?? 'unknown')}</span>
    <span>DOB ${escapeHtml(p.birthDate ?? '—')} ${escapeHtml(age(p.birthDate) ? `(${age(p.birthDate)})` : '')}</span>
    ${mrn ? `<span>MRN ${escapeHtml(mrn)}</span>` : ''}
  </div>
  <div class="user"${ctx.fhirUser ? ` title="${escapeHtml(ctx.fhirUser)}"` : ''}>${escapeHtml(data.clinician ?? ctx.fhirUser ?? '')}</div>
</header>`;
}

function headline(latest: AssessmentView): string {
  const rows = latest.predictions
    .map(
      (p) =>
        p.notAssessed !== undefined
          ? `<div class="prediction not-assessed">
      <div class="outcome">${escapeHtml(p.outcome)}</div>
      <div class="probability risk-text-unknown">cannot assess: ${escapeHtml(p.notAssessed)}</div>
      ${riskBadge(p)}
    </div>`
          : `<div class="prediction">
      <div class="outcome">${escapeHtml(p.outcome)}</div>
      <div class="probability risk-text-${riskClass(p.riskCode)}">${percent(p.probability)}</div>
      ${riskBadge(p)}
    </div>`,
    )
    .join('');
  return `<section class="card headline" aria-labelledby="latest-h">
  <h2 id="latest-h">Latest assessment</h2>
  <p class="meta">${escapeHtml(when(latest.occurredAt))} · ${escapeHtml(latest.modelTitle ?? latest.modelCode ?? '')}</p>
  ${rows}
  ${latest.missing.length ? `<p class="warning">Assessed without: ${latest.missing.map((m) => escapeHtml(m.modality)).join(', ')}</p>` : ''}
  <p class="disclaimer">AI-generated (AIAST). Reference model trained on synthetic data — not for clinical use.</p>
</section>`;
}

function trend(data: ReviewData): string {
  // One outcome over time: the latest assessment's first assessed outcome. Points where it was not
  // assessed are skipped (issue #17): an abstention is not a zero. One line per model (issue 25.1):
  // different models' assessments are not one series.
  const outcome = data.assessments.flatMap((a) => a.predictions).find((p) => p.probability !== undefined)?.outcome ?? '';
  const byModel = new Map<string, TrendSeries>();
  for (const a of data.assessments) {
    const p = a.predictions.find((x) => x.outcome === outcome);
    if (p?.probability === undefined || !a.occurredAt) continue;
    const key = a.modelCode ?? a.modelTitle ?? 'unknown';
    const series = byModel.get(key) ?? { label: a.modelTitle ?? a.modelCode ?? 'Unknown model', points: [] };
    series.points.push({ date: a.occurredAt, probability: p.probability, riskCode: p.riskCode });
    byModel.set(key, series);
  }
  const series = [...byModel.values()];
  const count = series.reduce((n, s) => n + s.points.length, 0);
  return `<section class="card" aria-labelledby="trend-h">
  <h2 id="trend-h">Risk over time <span class="h-sub">${escapeHtml(outcome)} · ${count} assessment${count === 1 ? '' : 's'}</span></h2>
  ${count ? trendChartSvg(series) : '<p class="empty">No earlier assessments.</p>'}
</section>`;
}

function why(detail: AssessmentDetail, index: number, multiple: boolean): string {
  const latest = detail.assessment;
  const outcome = latest.predictions[0]?.outcome;
  const modalities = latest.modalities.filter((m) => m.outcome === outcome || outcome === undefined);
  const features = latest.features
    .filter((f) => f.outcome === outcome || outcome === undefined)
    .sort((a, b) => Math.abs(b.delta) - Math.abs(a.delta))
    .slice(0, 8);
  const featureRows = features
    .map(
      (f) => `<tr><td>${escapeHtml(featureLabel(f.label))}</td><td class="num">${escapeHtml(formatValue(f.value))} ${escapeHtml(displayUnit(f.unit))}</td>
      <td class="num ${f.delta >= 0 ? 'up' : 'down'}">${f.delta >= 0 ? '▲ +' : '▼ −'}${(Math.abs(f.delta) * 100).toFixed(1)} pts</td></tr>`,
    )
    .join('');
  const sentences = detail.sentences.slice(0, 6);
  const model = multiple ? `${detail.model.name} · ${when(latest.occurredAt)} · ` : '';
  return `<section class="card why" aria-labelledby="why-h-${index}" data-assessment="${escapeHtml(latest.id)}">
  <h2 id="why-h-${index}">Why <span class="h-sub">${escapeHtml(model)}each modality’s share of the risk (exact Shapley values, all inputs against none)</span></h2>
  <h3>Contribution by modality</h3>
  ${modalities.length ? contributionChartSvg(modalities.map((m) => ({ label: m.label, delta: m.delta }))) : '<p class="empty">No modality contributions recorded.</p>'}
  <h3>Top lab and vital-sign features</h3>
  ${features.length ? `<table class="features"><thead><tr><th>Feature</th><th class="num">Value</th><th class="num">Effect when left out</th></tr></thead><tbody>${featureRows}</tbody></table>` : '<p class="empty">No tabular features recorded.</p>'}
  <h3>Report sentences the model read</h3>
  ${
    sentences.length
      ? `<ul class="sentences">${sentences
          .map(
            (s) =>
              `<li class="${s.assertion}"><span class="tag">${escapeHtml(s.assertion === 'positive' ? 'asserted' : s.assertion)}</span> ${escapeHtml(s.text)}</li>`,
          )
          .join('')}</ul>`
      : '<p class="empty">No report text was used.</p>'
  }
</section>`;
}

/**
 * Issue #20: each localised finding as the same thumbnail with the model's region overlaid
 * (semi-transparent, from the SEG in the PACS), and a legend that says what it is and is not.
 */
function localisedFindings(data: ReviewData, ctx: ReviewPageContext): string {
  const studyId = data.imaging?.id;
  if (!studyId || !data.findings?.length) return '';
  return data.findings
    .filter((f) => f.id)
    .map((f) => {
      const name = f.code?.text ?? f.code?.coding?.[0]?.display ?? 'Finding';
      const src = `${ctx.prefix}/images/${studyId}/thumbnail.png?finding=${encodeURIComponent(f.id ?? '')}`;
      // What the region is, as the Observation's writer said it (an outcome map's attention or a
      // finding map's located region), never a diagnosis.
      const what = f.note?.[0]?.text ?? 'AI-localised region: not a diagnosis.';
      return `<figure class="thumb localisation" id="localisation-${escapeHtml(f.id ?? '')}"><img src="${escapeHtml(src)}" alt="${escapeHtml(`Heat map: ${name}`)}" width="256" height="256" loading="lazy"><figcaption><span class="swatch" aria-hidden="true"></span> ${escapeHtml(name)} (AI-generated, preliminary): ${escapeHtml(what)}</figcaption></figure>`;
    })
    .join('');
}

function media(data: ReviewData, ctx: ReviewPageContext): string {
  const ecg = data.ecg ? ecgStripSvg(data.ecg) : undefined;
  const image = data.imaging?.id
    ? `<figure class="thumb"><img src="${escapeHtml(ctx.prefix)}/images/${escapeHtml(data.imaging.id)}/thumbnail.png" alt="Image used by the model" width="256" height="256" loading="lazy"><figcaption>${escapeHtml(data.imaging.description ?? 'Imaging study')}</figcaption></figure>${localisedFindings(data, ctx)}`
    : '<p class="empty">No image was used.</p>';
  return `<section class="card media" aria-labelledby="media-h">
  <h2 id="media-h">Image and ECG used</h2>
  <div class="media-row">
    <div class="media-image">${image}</div>
    <div class="media-ecg">${ecg ?? '<p class="empty">No ECG was used.</p>'}</div>
  </div>
</section>`;
}

function similarCases(data: ReviewData): string {
  if (data.similarCases === undefined) return '';
  const rows = data.similarCases
    .map(
      (c, i) =>
        `<tr><td class="num">${i + 1}</td><td class="num">${c.similarity.toFixed(2)}</td><td>${escapeHtml(c.conclusion)}${
          c.codes.length ? `<div class="muted">${escapeHtml(c.codes.join(' · '))}</div>` : ''
        }</td><td>${escapeHtml(when(c.recorded))}</td><td class="muted">${escapeHtml(c.reportReference)}</td></tr>`,
    )
    .join('');
  return `<section class="card similar" aria-labelledby="similar-h">
  <h2 id="similar-h">Similar past cases <span class="h-sub">patients whose ECG looked most like this one, and what their ECG reports said</span></h2>
  ${
    rows
      ? `<table class="similar-cases"><thead><tr><th class="num">#</th><th class="num">ECG similarity <span class="muted">(cosine)</span></th><th>Their ECG report said</th><th>When</th><th>Report</th></tr></thead><tbody>${rows}</tbody></table>`
      : '<p class="empty">No similar past case that your access lets you read.</p>'
  }
  <p class="muted">Found with an ECG ↔ report embedding model trained on synthetic data, for demonstrating the pipeline; not for clinical use.</p>
</section>`;
}

function inputItem(i: InputView, ctx: ReviewPageContext): string {
  // Shown inline, read through the app with the clinician's token: a link to the EHR's FHIR server
  // would not open in the browser, which holds no token (issue 25.6).
  const summary = inputSummary(i.resource);
  const image =
    i.resource?.resourceType === 'ImagingStudy' && i.resource.id
      ? ` <a href="${escapeHtml(ctx.prefix)}/images/${escapeHtml(i.resource.id)}/thumbnail.png" class="muted">thumbnail</a>`
      : '';
  return `<li>${escapeHtml(i.label)}${summary ? `: <span class="input-value">${escapeHtml(summary)}</span>` : ''}${image} <span class="muted ref">${escapeHtml(unversioned(i.reference))}</span>${
    i.resource ? '' : ' <span class="muted">(not readable with your access)</span>'
  }</li>`;
}

function provenance(detail: AssessmentDetail, index: number, multiple: boolean, ctx: ReviewPageContext): string {
  const latest = detail.assessment;
  const m = detail.model;
  const inputs = detail.inputs.map((i) => inputItem(i, ctx)).join('');
  const missing = latest.missing
    .map((x) => `<li><strong>${escapeHtml(x.modality)}</strong>: ${escapeHtml(x.reason)}${x.detail ? ` — ${escapeHtml(x.detail)}` : ''}</li>`)
    .join('');
  return `<section class="card provenance" aria-labelledby="prov-h-${index}" data-assessment="${escapeHtml(latest.id)}">
  <h2 id="prov-h-${index}">What made it${multiple ? ` <span class="h-sub">${escapeHtml(m.name)}</span>` : ''}</h2>
  <dl class="facts">
    <dt>Model</dt><dd>${escapeHtml(m.name)} <span class="muted">${escapeHtml(m.code ?? '')}</span></dd>
    <dt>Version</dt><dd>${escapeHtml(m.version ?? '—')}</dd>
    <dt>Model card</dt><dd>${m.cardReference ? escapeHtml(m.cardTitle ?? m.cardReference) : '—'}</dd>
    <dt>Runtime</dt><dd>ONNX Runtime, ${escapeHtml(m.executionProvider ?? 'unknown')} execution provider</dd>
    <dt>Ran at</dt><dd>${escapeHtml(when(latest.occurredAt))}</dd>
    <dt>Assessment</dt><dd>${escapeHtml(latest.reference)}</dd>
  </dl>
  <h3>Missing modalities</h3>
  ${missing ? `<ul class="missing">${missing}</ul>` : '<p class="empty">None — every modality was available.</p>'}
  <h3>Inputs (${detail.inputs.length})</h3>
  <ul class="inputs">${inputs}</ul>
  ${m.cardText ? `<details class="model-card"><summary>Read the model card</summary><pre>${escapeHtml(m.cardText)}</pre></details>` : ''}
</section>`;
}

function reviewItem(r: ReviewView): string {
  return `<li class="review ${r.verdict ?? ''}"><span class="verdict">${r.verdict === 'agree' ? '✔ Agreed' : r.verdict === 'disagree' ? '✖ Disagreed' : 'Reviewed'}</span>
  <span class="muted">${escapeHtml(r.reviewer)} · ${escapeHtml(when(r.recorded))}</span>${r.comment ? `<blockquote>${escapeHtml(r.comment)}</blockquote>` : ''}</li>`;
}

function feedback(latest: AssessmentView, data: ReviewData, ctx: ReviewPageContext): string {
  const reviews = data.reviews.filter((r) => r.target === latest.reference);
  const earlier = data.reviews.filter((r) => r.target !== latest.reference);
  return `<section class="card feedback" aria-labelledby="fb-h">
  <h2 id="fb-h">Your review</h2>
  ${reviews.length ? `<ul class="reviews">${reviews.map(reviewItem).join('')}</ul>` : '<p class="empty">Not reviewed yet.</p>'}
  <form method="post" action="${escapeHtml(ctx.prefix)}/feedback" class="feedback-form">
    <input type="hidden" name="csrf" value="${escapeHtml(ctx.csrfToken)}">
    <input type="hidden" name="assessment" value="${escapeHtml(latest.id)}">
    <fieldset>
      <legend>Do you agree with this assessment?</legend>
      <label class="choice agree"><input type="radio" name="verdict" value="agree" required> Agree</label>
      <label class="choice disagree"><input type="radio" name="verdict" value="disagree"> Disagree</label>
    </fieldset>
    <label for="comment">Comment <span class="muted">(optional, saved to the chart)</span></label>
    <textarea id="comment" name="comment" rows="3" maxlength="2000"></textarea>
    <button type="submit">Save review to chart</button>
  </form>
  ${earlier.length ? `<h3>Reviews of earlier assessments</h3><ul class="reviews">${earlier.slice(0, 5).map(reviewItem).join('')}</ul>` : ''}
</section>`;
}

function history(data: ReviewData): string {
  const rows = data.assessments
    .map((a) => {
      const p = a.predictions[0];
      return `<tr><td>${escapeHtml(when(a.occurredAt))}</td><td>${escapeHtml(p?.outcome ?? '—')}</td><td class="num">${percent(p?.probability)}</td><td>${p ? riskBadge(p) : '—'}</td><td>${escapeHtml(a.modelTitle ?? a.modelCode ?? '')}</td><td>${a.missing.length ? escapeHtml(a.missing.map((m) => m.modality).join(', ')) : '—'}</td></tr>`;
    })
    .join('');
  return `<section class="card history" aria-labelledby="hist-h">
  <h2 id="hist-h">All AI assessments <span class="h-sub">newest first</span></h2>
  <table class="assessments"><thead><tr><th>When</th><th>Outcome</th><th class="num">Probability</th><th>Risk</th><th>Model</th><th>Missing</th></tr></thead><tbody>${rows}</tbody></table>
</section>`;
}

/** The assessments shown under Why / What made it: loaded details, else the opened one from the top-level fields. */
function detailsOf(data: ReviewData, latest: AssessmentView | undefined): AssessmentDetail[] {
  if (data.details?.length) return data.details;
  if (!latest) return [];
  const model = data.model ?? {
    name: latest.modelTitle ?? latest.modelCode ?? 'Unknown model',
    code: latest.modelCode,
    version: undefined,
    cardTitle: undefined,
    cardReference: undefined,
    cardText: undefined,
    executionProvider: undefined,
    deviceReference: latest.performer,
  };
  return [{ assessment: latest, model, inputs: data.inputs, sentences: data.sentences, ecg: data.ecg, imaging: data.imaging }];
}

/** The review page for the patient in context (server-rendered HTML, no script). */
export function renderReviewPage(data: ReviewData, ctx: ReviewPageContext): string {
  const latest = data.opened ?? data.assessments[0];
  const focusNotice =
    data.focus && !data.focus.found
      ? `<p class="warning" role="alert">The card named RiskAssessment/${escapeHtml(data.focus.requested)}, which is not an AI assessment of the patient in context; showing the newest assessment instead.</p>`
      : '';
  const notice = `${ctx.notice ? `<p class="notice" role="status">${escapeHtml(ctx.notice)}</p>` : ''}${focusNotice}`;
  const details = detailsOf(data, latest);
  const multiple = details.length > 1;
  const body = latest
    ? `<div class="grid">
  <div class="col-main">${headline(latest)}${trend(data)}${details.map((d, i) => why(d, i, multiple)).join('')}</div>
  <div class="col-side">${feedback(latest, data, ctx)}${details.map((d, i) => provenance(d, i, multiple, ctx)).join('')}</div>
</div>
${media(data, ctx)}
${similarCases(data)}
${history(data)}`
    : `<section class="card"><h2>No AI assessments</h2><p class="empty">fhir-fusion has not assessed this patient yet.</p></section>`;
  return pageShell({
    title: `AI risk review — ${patientName(data.patient)}`,
    assetsPrefix: `${ctx.prefix}/assets`,
    body: `${banner(data, ctx)}<main>${notice}${renderDrafts(data.drafts, ctx)}${body}</main>`,
  });
}
