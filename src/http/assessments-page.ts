import type { FastifyInstance } from 'fastify';
import type { Pool } from 'pg';
import { recentAssessments } from '../store/ledger-repository.js';
import { escapeHtml } from './escape-html.js';
import { withoutTrailingSlash } from '../contracts/base-url.js';
import { textResponse } from './route-schemas.js';
import type { MonitoringSnapshot } from '../contracts/model-monitoring.js';
import { MONITORING_STYLE, monitoringBanner, monitoringSection } from './monitoring-section.js';

/** One row of `GET /api/assessments` (every column is NOT NULL in assessment_ledger). */
const writtenAssessmentSchema = {
  type: 'object',
  properties: {
    riskAssessment: { type: 'string', description: 'RiskAssessment/{id} on the write-back server.' },
    provenance: { type: 'string', description: 'Provenance/{id} of the write.' },
    patient: { type: 'string' },
    model: { type: 'string', description: 'name@version' },
    executionProvider: { type: 'string' },
    predictions: { type: 'array', items: { type: 'object', additionalProperties: true } },
    missingModalities: { type: 'array', items: { type: 'string' } },
    outcome: { type: 'string', enum: ['created', 'exists'] },
    writtenAt: { type: 'string', format: 'date-time' },
  },
} as const;

/** Options of the operator page. */
export interface AssessmentsPageOptions {
  pool: Pool;
  /** FHIR base the RiskAssessments were written to, for links. */
  writebackBaseUrl: string;
  /** The model monitor's latest snapshot (issue 19 point 5); absent when monitoring is off. */
  monitoring?: () => MonitoringSnapshot | undefined;
}

/**
 * `GET /` (HTML) and `GET /api/assessments` (JSON): the most recent write-backs from the ledger,
 * so an operator (and the demo) can watch assessments being written. Synthetic-data models only:
 * the page says so. Clinicians use the SMART app and CDS Hooks cards, not this page.
 */
export async function assessmentsPage(app: FastifyInstance, options: AssessmentsPageOptions): Promise<void> {
  const base = withoutTrailingSlash(options.writebackBaseUrl);
  app.get(
    '/api/assessments',
    {
      schema: {
        querystring: { type: 'object', properties: { limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 } } },
        response: { 200: { type: 'array', items: writtenAssessmentSchema } },
      },
    },
    async (request) => {
      const { limit } = request.query as { limit: number };
      const rows = await recentAssessments(options.pool, limit);
      return rows.map((r) => ({
        riskAssessment: r.risk_assessment_ref,
        provenance: r.provenance_ref,
        patient: `Patient/${String(r.patient_id)}`,
        model: `${String(r.model_name)}@${String(r.model_version)}`,
        executionProvider: r.execution_provider,
        predictions: r.predictions,
        missingModalities: r.missing_modalities,
        outcome: r.outcome,
        writtenAt: r.created_at,
      }));
    },
  );

  const pageSchema = { response: { 200: textResponse('text/html', 'The operator page: the most recent write-backs.') } };
  app.get('/', { schema: pageSchema }, async (_request, reply) => {
    const rows = await recentAssessments(options.pool, 100);
    const snapshot = options.monitoring?.();
    const body = rows
      .map((r) => {
        const predictions = (r.predictions as Array<{ outcome: string; probability: number; qualitativeRisk: string }>)
          .map((p) => `<span class="risk ${escapeHtml(p.qualitativeRisk)}">${escapeHtml(p.outcome)} ${(p.probability * 100).toFixed(1)}% (${escapeHtml(p.qualitativeRisk)})</span>`)
          .join(' ');
        const missing = (r.missing_modalities as string[]).map(escapeHtml).join('; ') || '—';
        return `<tr><td>${escapeHtml(new Date(r.created_at).toISOString())}</td>
          <td><a href="${escapeHtml(`${base}/${r.risk_assessment_ref}`)}">${escapeHtml(r.risk_assessment_ref)}</a></td>
          <td>${escapeHtml(`Patient/${String(r.patient_id)}`)}</td><td>${escapeHtml(`${String(r.model_name)}@${String(r.model_version)}`)}</td>
          <td>${predictions}</td><td>${missing}</td><td>${escapeHtml(r.execution_provider)}</td></tr>`;
      })
      .join('\n');
    reply.type('text/html; charset=utf-8');
    return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="5">
<title>fhir-fusion — recent risk assessments</title>
<style>body{font:14px system-ui,sans-serif;margin:1.5rem;color:#1f2933}table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #d9e2ec;padding:.35rem .5rem;text-align:left;vertical-align:top}th{background:#f0f4f8}
.risk{display:inline-block;margin:0 .4rem .2rem 0;padding:0 .4rem;border-radius:3px;background:#e3f8ff}
.risk.moderate{background:#fff3c4}.risk.high,.risk.certain{background:#ffe3e3}.note{color:#7b8794}${MONITORING_STYLE}</style></head>
<body>${monitoringBanner(snapshot)}<h1>Recent risk assessments</h1>
<p class="note">Written by fhir-fusion to <code>${escapeHtml(base)}</code>. Reference models are trained on synthetic data:
they demonstrate the pipeline and are not for clinical use. This page refreshes every 5 seconds.</p>
<table><thead><tr><th>Written</th><th>RiskAssessment</th><th>Subject</th><th>Model</th><th>Predictions</th><th>Missing modalities</th><th>Provider</th></tr></thead>
<tbody>${body || '<tr><td colspan="7">No assessments yet.</td></tr>'}</tbody></table>
${monitoringSection(snapshot, options.monitoring !== undefined)}</body></html>`;
  });
}
