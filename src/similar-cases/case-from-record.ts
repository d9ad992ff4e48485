import type { DiagnosticReport } from '@medplum/fhirtypes';
import type { PatientRecord } from '../contracts/patient-record.js';
import type { Result } from '../contracts/result.js';
import { ecgLeadsFromSource, isEcgObservation } from '../preprocess/ecg/ecg-from-record-source.js';
import { renderEcgImage } from '../preprocess/ecg/render-ecg-image.js';
import { toModelEcg, type ModelEcg } from '../preprocess/ecg/to-model-ecg.js';
import type { UnitConverter } from '../preprocess/tabular/unit-conversion.js';
import { extractReportText } from '../preprocess/text/extract-report-text.js';
import type { EmbeddingModelManifest } from '../inference/manifest/embedding-manifest.js';
import type { CaseToIndex } from './index-case.js';

/** Why an assessed patient was not added to the similar-case index (no patient data in it). */
export type CaseSkipReason = 'no-ecg' | 'ecg-unusable';

function isEcgReport(report: DiagnosticReport, categories: readonly string[]): boolean {
  // DiagnosticReport.category from HL7 v2 table 0074 (`EC` = electrocardiac), as the model's
  // manifest names them (its `preprocessing.text.categories`).
  return (report.category ?? []).some((c) => (c.coding ?? []).some((k) => k.code !== undefined && categories.includes(k.code)));
}

function newest(reports: DiagnosticReport[]): DiagnosticReport | undefined {
  const time = (r: DiagnosticReport) => r.effectiveDateTime ?? r.effectivePeriod?.start ?? r.issued ?? '';
  return [...reports].sort((a, b) => time(b).localeCompare(time(a)))[0];
}

/**
 * The ECG encoder's input for one ECG, as `preprocessing.ecg.representation` says: the waveform
 * itself, or the 12-lead rendering at `imageSize` (`renderEcgImage`, the very function whose output
 * `ecg-image-cnn` and the ViT of `ecg-report-clip@2` were trained on via `preprocessRecord`).
 * `undefined` for an image model whose manifest gives no size (the manifest parser refuses one).
 */
export function ecgEncoderInput(ecg: ModelEcg, spec: EmbeddingModelManifest['preprocessing']['ecg']): Float32Array | undefined {
  if (spec.representation === 'waveform') return ecg.data;
  return spec.imageSize ? renderEcgImage(ecg, spec.imageSize) : undefined;
}

/**
 * What to index for an assessed patient: the ECG of the assembled record, preprocessed exactly as
 * the embedding model's manifest says (the same `src/preprocess` functions the risk models use,
 * rendered to the 12-lead image when the ECG encoder reads images), and
 * the newest ECG interpretation report in the record, if any. `reason` says why there is nothing to
 * index; a patient without a usable ECG is simply not a past case.
 */
export function caseFromRecord(
  record: PatientRecord,
  manifest: EmbeddingModelManifest,
  convertUnit: UnitConverter,
): Result<CaseToIndex, { reason: CaseSkipReason }> {
  const ecg = record.modalities.ecg;
  const patientId = record.patient.id;
  if (ecg.status !== 'present' || !patientId) return { ok: false, reason: 'no-ecg' };
  const leads = ecgLeadsFromSource(ecg.data, { convertUnit });
  if (!leads.ok) return { ok: false, reason: 'ecg-unusable' };
  const model = toModelEcg(leads.value, manifest.preprocessing.ecg);
  if (!model.ok) return { ok: false, reason: 'ecg-unusable' };
  const ecgInput = ecgEncoderInput(model.value, manifest.preprocessing.ecg);
  if (!ecgInput) return { ok: false, reason: 'ecg-unusable' };
  const source = ecg.sources[0];
  if (!source) return { ok: false, reason: 'no-ecg' };
  const recorded = isEcgObservation(ecg.data) ? (ecg.data.effectiveDateTime ?? ecg.data.effectiveInstant) : undefined;

  const reports = record.modalities.text.status === 'present' ? record.modalities.text.data : [];
  const report = newest(reports.filter((r) => isEcgReport(r, manifest.preprocessing.text.categories)));
  const text = report ? extractReportText(report) : undefined;
  return {
    ok: true,
    value: {
      patientRef: `Patient/${patientId}`,
      ecgRef: `${source.resourceType}/${source.id}`,
      ecgInput,
      ...(recorded ? { ecgRecorded: recorded } : {}),
      ...(report?.id && text?.ok && text.value.text ? { report: { ref: `DiagnosticReport/${report.id}`, text: text.value.text } } : {}),
    },
  };
}
