import type {
  Bundle,
  Device,
  DiagnosticReport,
  DocumentReference,
  ImagingStudy,
  Observation,
  Patient,
  Practitioner,
  PractitionerRole,
  Provenance,
  RelatedPerson,
  Resource,
  RiskAssessment,
} from '@medplum/fhirtypes';
import { AIAST, PROFILE_URLS } from '../../contracts/fusion-terminology.js';
import type { SimilarCasesFinder } from '../../contracts/similar-cases-finder.js';
import {
  assessmentView,
  executionProviderOf,
  isFusionAssessment,
  isFusionProvenance,
  isReviewProvenance,
  modelCardOf,
  unversioned,
  type AssessmentView,
} from './assessment-view.js';
import { createBatchedReader, type BatchedRead } from './batched-reads.js';
import type { ClinicianFhir } from './clinician-fhir.js';
import { reviewView, type ReviewView } from './feedback-provenance.js';
import { reportSentences, type ReportSentence } from './report-sentences.js';
import type { DraftView } from './draft-decision.js';

/** One input resource the assessment was based on. */
export interface InputView {
  reference: string;
  resourceType: string;
  label: string;
  /** The resource, when the clinician may read it; `undefined` when the EHR refused. */
  resource: Resource | undefined;
}

/** What the model that made the newest assessment was. */
export interface ModelView {
  name: string;
  /** The model's machine name (`models/<name>/`). */
  code: string | undefined;
  version: string | undefined;
  cardTitle: string | undefined;
  cardReference: string | undefined;
  cardText: string | undefined;
  executionProvider: string | undefined;
  deviceReference: string | undefined;
}

/** Everything the review page shows for the patient in context. */
export interface ReviewData {
  patient: Patient;
  /** Newest first. */
  assessments: AssessmentView[];
  /** The version of each assessment as read, for the feedback Provenance. */
  versions: Record<string, string | undefined>;
  reviews: ReviewView[];
  model: ModelView | undefined;
  inputs: InputView[];
  sentences: ReportSentence[];
  ecg: Observation | undefined;
  imaging: ImagingStudy | undefined;
  /** The localised imaging findings of the assessments shown (issue #20), overlaid on the image. */
  findings?: Observation[];
  /**
   * Past patients whose ECG looked most like this patient's, with what their ECG reports said, as
   * far as the clinician's token lets them read those reports; `undefined` when similar-case
   * retrieval is off or the patient's ECG is not indexed yet.
   */
  similarCases: SimilarCaseView[] | undefined;
  /**
   * The assessment the page opens on, when not the newest: the one a CDS card named (its `smart`
   * link's appContext). `found` is false when the named assessment is not an AI assessment of the
   * patient in context; the page then says so and opens on the newest.
   */
  focus?: { requested: string; found: boolean };
  /** The opened assessment first, then each other model's newest; absent in hand-built data. */
  details?: AssessmentDetail[];
  /** The signed-in clinician's name, read from their `fhirUser` resource. */
  clinician?: string;
  /** The assessment the page opens on (headline, why, what made it, review form): the focused one, else the newest. */
  opened?: AssessmentView;
  /** AI-drafted descriptions (issue #20), newest first; loaded beside the rest by the app. */
  drafts?: DraftView[];
}

/** Options of {@link loadReviewData}. */
export interface LoadReviewOptions {
  findSimilar?: SimilarCasesFinder;
  /** RiskAssessment id to open on (validated: it must be a fhir-fusion assessment of the patient). */
  focus?: string;
  /** The signed-in user (`fhirUser` claim), read for their name. */
  fhirUser?: string;
  /** FHIR base of the session, to make an absolute `fhirUser` relative. */
  iss?: string;
}

/** What the page shows of one assessment under "Why" and "What made it". */
export interface AssessmentDetail {
  assessment: AssessmentView;
  model: ModelView;
  inputs: InputView[];
  sentences: ReportSentence[];
  ecg: Observation | undefined;
  imaging: ImagingStudy | undefined;
  /** Localised imaging findings the assessment rests on (FusionImagingFinding, issue #20). */
  findings?: Observation[];
}

/** One similar past case as the page shows it: no identity, only the ECG report and the similarity. */
export interface SimilarCaseView {
  /** Cosine similarity of the ECG embeddings, in [-1, 1]. */
  similarity: number;
  reportReference: string;
  /** The report's conclusion (its diagnoses), or its title when it has none. */
  conclusion: string;
  /** `conclusionCode` displays. */
  codes: string[];
  recorded: string | undefined;
}

function entries<T extends Resource>(bundle: Bundle, type: T['resourceType']): T[] {
  return (bundle.entry ?? []).flatMap((e) => (e.resource?.resourceType === type ? [e.resource as T] : []));
}

function labelOf(resource: Resource | undefined, reference: string): string {
  switch (resource?.resourceType) {
    case 'Observation':
      return resource.code?.text ?? resource.code?.coding?.[0]?.display ?? resource.code?.coding?.[0]?.code ?? 'Observation';
    case 'DiagnosticReport':
      return resource.code?.text ?? resource.code?.coding?.[0]?.display ?? 'Diagnostic report';
    case 'ImagingStudy':
      return resource.description ?? `Imaging study (${resource.numberOfInstances ?? '?'} images)`;
    default:
      return reference.split('/')[0] ?? 'Resource';
  }
}

/** An ECG Observation carries SampledData (FHIR R4 §2.24.0.13) in its value or components. */
function isWaveform(resource: Resource | undefined): resource is Observation {
  return (
    resource?.resourceType === 'Observation' &&
    (resource.valueSampledData !== undefined || (resource.component ?? []).some((c) => c.valueSampledData))
  );
}

function decodeAttachment(data: string | undefined): string | undefined {
  return data ? Buffer.from(data, 'base64').toString('utf8') : undefined;
}

function reportText(report: DiagnosticReport): string {
  const form = report.presentedForm?.find((a) => (a.contentType ?? '').startsWith('text/plain'));
  return decodeAttachment(form?.data) ?? report.conclusion ?? '';
}

/** `fhirUser` as a relative `Type/id` for a read: absolute ones only when under the EHR's base (SMART App Launch 2 §fhirUser). */
function relativeFhirUser(fhirUser: string | undefined, iss: string | undefined): string | undefined {
  if (!fhirUser) return undefined;
  const base = iss ? `${iss.replace(/\/+$/, '')}/` : undefined;
  const relative = base && fhirUser.startsWith(base) ? fhirUser.slice(base.length) : fhirUser;
  return /^(Practitioner|PractitionerRole|Patient|RelatedPerson)\/[A-Za-z0-9\-.]{1,64}$/.test(relative) ? relative : undefined;
}

/** "Dr Dana Review" from a HumanName (text, else prefix given family). */
function personName(resource: Practitioner | PractitionerRole | Patient | RelatedPerson): string | undefined {
  if (resource.resourceType === 'PractitionerRole') return resource.practitioner?.display;
  const name = resource.name?.find((n) => n.use === 'official') ?? resource.name?.[0];
  if (!name) return undefined;
  return name.text ?? ([...(name.prefix ?? []), ...(name.given ?? []), name.family].filter(Boolean).join(' ') || undefined);
}

/** Model, card and inputs of one assessment, read through the batched reader. */
async function loadDetail(assessment: AssessmentView, provenances: Provenance[], tryRead: BatchedRead): Promise<AssessmentDetail> {
  const fusionProvenance = provenances.find(
    (p) => isFusionProvenance(p) && (p.target ?? []).some((t) => unversioned(t.reference ?? '') === assessment.reference),
  );
  const cardReference = modelCardOf(fusionProvenance);
  const [card, device, ...inputResources] = await Promise.all([
    tryRead<DocumentReference>(cardReference),
    tryRead<Device>(assessment.performer),
    ...assessment.basis.map((reference) => tryRead<Resource>(reference)),
  ]);
  // Issue #20: the assessment's own imaging findings are in its basis, but they are outputs, not inputs.
  const isFinding = (r: Resource | undefined): r is Observation =>
    r?.resourceType === 'Observation' && (r.meta?.profile ?? []).includes(PROFILE_URLS.ImagingFinding);
  const inputs: InputView[] = assessment.basis.flatMap((reference, i) => {
    const resource = inputResources[i];
    if (isFinding(resource)) return [];
    return [{ reference, resourceType: reference.split('/')[0] ?? 'Resource', label: labelOf(resource, reference), resource }];
  });
  const reports = inputResources.filter((r): r is DiagnosticReport => r?.resourceType === 'DiagnosticReport');
  const cardAttachment = card?.content?.[0]?.attachment;
  return {
    assessment,
    model: {
      name:
        device?.deviceName?.find((n) => n.type === 'user-friendly-name')?.name ??
        device?.deviceName?.[0]?.name ??
        assessment.modelTitle ??
        assessment.modelCode ??
        'Unknown model',
      code: device?.deviceName?.find((n) => n.type === 'model-name')?.name ?? assessment.modelCode,
      version: device?.version?.[0]?.value,
      cardTitle: card?.description ?? cardAttachment?.title,
      cardReference,
      cardText: cardAttachment?.contentType?.startsWith('text/') ? decodeAttachment(cardAttachment.data) : undefined,
      executionProvider: executionProviderOf(fusionProvenance),
      deviceReference: assessment.performer,
    },
    inputs,
    sentences: reports.flatMap((report) => reportSentences(reportText(report))),
    ecg: inputResources.find(isWaveform),
    imaging: inputResources.find((r): r is ImagingStudy => r?.resourceType === 'ImagingStudy'),
    findings: inputResources.filter(isFinding),
  };
}

/**
 * Reads what the review page needs with the clinician's token: the patient, every AI-asserted
 * RiskAssessment fhir-fusion wrote (`_security` AIAST, method in the fhir-fusion model system)
 * with their Provenances (`_revinclude`), and for the one the page opens on and each model's
 * newest its model, card and inputs; and the signed-in clinician's name (`fhirUser`). Inputs the
 * clinician may not read are listed without content.
 */
export async function loadReviewData(fhir: ClinicianFhir, patientId: string, options: LoadReviewOptions = {}): Promise<ReviewData> {
  const { findSimilar } = options;
  const [patient, bundle] = await Promise.all([
    fhir.read<Patient>(`Patient/${patientId}`),
    fhir.search(
      'RiskAssessment',
      new URLSearchParams({
        subject: `Patient/${patientId}`,
        _security: `${AIAST.system}|${AIAST.code}`,
        _sort: '-date',
        _count: '50',
        _revinclude: 'Provenance:target',
      }),
    ),
  ]);
  const raw = entries<RiskAssessment>(bundle, 'RiskAssessment').filter(isFusionAssessment);
  const assessments = raw
    .map(assessmentView)
    .sort((a, b) => (b.occurredAt ?? '').localeCompare(a.occurredAt ?? ''));
  const versions = Object.fromEntries(raw.map((ra) => [ra.id ?? '', ra.meta?.versionId]));
  const provenances = entries<Provenance>(bundle, 'Provenance');
  const reviews = provenances
    .filter(isReviewProvenance)
    .map(reviewView)
    .sort((a, b) => (b.recorded ?? '').localeCompare(a.recorded ?? ''));
  // The search is for the launch patient only, so an id outside it (another patient's assessment,
  // or not fhir-fusion's) is never opened: validated against the launch context.
  const focused = options.focus ? assessments.find((a) => a.id === options.focus) : undefined;
  const focus = options.focus ? { requested: options.focus, found: focused !== undefined } : undefined;
  const latest = focused ?? assessments[0];
  const tryRead = createBatchedReader(fhir);
  const clinicianReference = relativeFhirUser(options.fhirUser, options.iss);
  const readClinician = () =>
    tryRead<Practitioner | PractitionerRole | Patient | RelatedPerson>(clinicianReference).then((r) => (r ? personName(r) : undefined));
  if (!latest) {
    const clinician = await readClinician();
    return { patient, assessments, versions, reviews, model: undefined, inputs: [], sentences: [], ecg: undefined, imaging: undefined, similarCases: undefined, focus, clinician };
  }
  // Issue 25.6: "Why" and "What made it" for each model's newest assessment, not only the newest
  // overall; the one the page opened on comes first.
  const newestPerModel = new Map<string, AssessmentView>();
  for (const a of assessments) {
    const key = a.modelCode ?? a.modelTitle ?? a.id;
    if (!newestPerModel.has(key)) newestPerModel.set(key, a);
  }
  const shown = [latest, ...[...newestPerModel.values()].filter((a) => a !== latest && a.modelCode !== latest.modelCode)];
  // Card, device, every input of every shown assessment, the signed-in clinician and the similar
  // cases' reports go out as batch Bundles, not one read each (issue 25.5): a page view costs the
  // patient read, the assessment search and one or two batches.
  const [similar, clinician, details] = await Promise.all([
    // A failing index leaves the panel out; it never costs the clinician the review page.
    findSimilar ? findSimilar(`Patient/${patientId}`, (reference) => tryRead<DiagnosticReport>(reference)).catch(() => undefined) : Promise.resolve(undefined),
    readClinician(),
    Promise.all(shown.map((a) => loadDetail(a, provenances, tryRead))),
  ]);
  const opened = details[0] as AssessmentDetail;
  // Issue #20: the image findings of every assessment on the page (the image model's are not the
  // fusion model's), once each — a radiologist looks at the image, not at which model found what.
  const findings = [...new Map(details.flatMap((d) => d.findings ?? []).map((f) => [f.id, f])).values()];
  return {
    patient,
    assessments,
    versions,
    reviews,
    model: opened.model,
    inputs: opened.inputs,
    sentences: opened.sentences,
    ecg: opened.ecg,
    imaging: opened.imaging,
    ...(findings.length ? { findings } : {}),
    details,
    clinician,
    focus,
    opened: latest,
    similarCases: similar?.map(({ similarity, report, reportReference }) => ({
      similarity,
      reportReference,
      conclusion: report.conclusion ?? report.code?.text ?? report.code?.coding?.[0]?.display ?? 'ECG report',
      codes: (report.conclusionCode ?? []).map((c) => c.text ?? c.coding?.[0]?.display ?? c.coding?.[0]?.code ?? '').filter(Boolean),
      recorded: report.effectiveDateTime ?? report.issued,
    })),
  };
}
