import type { Encounter, Patient, Resource } from '@medplum/fhirtypes';
import { drawChestRadiograph, type LesionMasks } from './chest-radiograph-pixels.js';
import type { RadiographEncoding } from './chest-radiograph-dicom.js';
import { encodeChestRadiographDicom, radiographSopClass } from './chest-radiograph-dicom.js';
import { generateClinicalObservations } from './clinical-observations.js';
import type { CohortOptions, ResolvedCohortOptions } from './cohort-options.js';
import { resolveCohortOptions } from './cohort-options.js';
import type { DcmjsData } from './dcmjs-api.js';
import { TransferSyntax, loadDcmjs } from './dcmjs-api.js';
import { diagnosticReport } from './diagnostic-report.js';
import { randomDicomUid } from './dicom-uid.js';
import { ecgObservation } from './ecg-observation.js';
import { synthesiseEcg } from './ecg-signal.js';
import { encodeEcgWaveformDicom, twelveLeadEcgSopClass } from './ecg-waveform-dicom.js';
import { dicomwebEndpoint, imagingStudy } from './imaging-resources.js';
import type { LatentConditions } from './latent-state.js';
import { sampleLatentState } from './latent-state.js';
import { chestRadiographReport, ecgReport } from './report-text.js';
import type { Rng } from './seeded-random.js';
import { createRng } from './seeded-random.js';
import { sampleIdentity, syntheticMrnSystem } from './synthetic-identity.js';

/** One generated DICOM Part-10 instance. */
export interface GeneratedDicomInstance {
  kind: 'chest-radiograph' | 'ecg-waveform';
  studyInstanceUid: string;
  seriesInstanceUid: string;
  sopInstanceUid: string;
  bytes: Uint8Array;
}

/** Ground truth for one patient: written to `labels.ndjson`, never into any FHIR resource. */
export interface CohortLabel {
  patientId: string;
  /**
   * The recorded diagnoses (what the EHR codes at discharge, and the models' training and
   * evaluation labels): the latent conditions with the stated label noise (`LABEL_NOISE`).
   */
  conditions: LatentConditions;
  /** The conditions the patient really has, which every signal is drawn from. */
  latentConditions: LatentConditions;
  /** The rhythm the ECG recording shows (absent without an ECG); sinus in paroxysmal AF. */
  ecgRhythm?: 'sinus' | 'atrial-fibrillation';
}

/** Everything generated for one patient. */
export interface GeneratedPatient {
  patientId: string;
  /** Patient first; ids set; references as `Type/{id}` (load with PUT, idempotent). */
  resources: Resource[];
  dicom: GeneratedDicomInstance[];
  labels: CohortLabel;
  /**
   * Localisation ground truth of the chest radiograph (one mask per lesion type), present when
   * its pixels were drawn. Only for training and evaluation: never written to FHIR, DICOM or
   * `labels.ndjson`.
   */
  radiographLesions?: LesionMasks;
}

/** Which modalities a patient has, decided before anything is drawn. */
interface Presence {
  image: boolean;
  ecg: boolean;
  report: boolean;
}

const HOUR = 3600_000;

/** FHIR id of the patient with this index in a cohort with this seed. */
export function cohortPatientId(seed: number, index: number): string {
  return `cohort-${(seed >>> 0).toString(36)}-${String(index).padStart(6, '0')}`;
}

/**
 * Generates one synthetic patient from the given generator. Everything (labels, FHIR resources,
 * DICOM bytes) is a pure function of `(index, options, rng state)`; `options.now` should be set
 * (it defaults to the current time, which makes timestamps differ between runs).
 *
 * @param index - position in the cohort; names the patient id and MRN.
 * @param options - cohort options (defaults are filled in).
 * @param rng - seeded generator; `generateCohort` gives each patient its own stream.
 * @param dcmjs - DICOM writer; loaded on demand when not passed.
 */
export function generatePatient(
  index: number,
  options: CohortOptions | ResolvedCohortOptions,
  rng: Rng,
  dcmjs?: DcmjsData,
): GeneratedPatient {
  const opts = resolveCohortOptions(options);
  // Independent sub-streams in a fixed order, so that skipping signals (labelsOnly) or dropping
  // a modality never changes the other parts of the patient.
  const latentRng = rng.fork();
  const identityRng = rng.fork();
  const timelineRng = rng.fork();
  const labsRng = rng.fork();
  const presenceRng = rng.fork();
  const imageRng = rng.fork();
  const ecgRng = rng.fork();
  const reportRng = rng.fork();
  const uidRng = rng.fork();

  const state = sampleLatentState(latentRng, opts.prevalence);
  const patientId = cohortPatientId(opts.seed, index);
  const encounterId = `${patientId}-enc`;
  const identity = sampleIdentity(identityRng, index, opts.seed, state.sex, state.ageYears, opts.now);
  const nowMs = opts.now.getTime();
  const startMs = Math.floor((nowMs - timelineRng.uniform(20, 46) * HOUR) / 60000) * 60000;
  const endMs = nowMs - 10 * 60000;
  const presence: Presence = {
    image: !presenceRng.chance(opts.rates.image),
    ecg: !presenceRng.chance(opts.rates.ecg),
    report: !presenceRng.chance(opts.rates.report),
  };
  const imageAt = new Date(Math.floor((startMs + timelineRng.uniform(0.3, 6) * HOUR) / 1000) * 1000);
  const ecgAt = new Date(Math.floor((startMs + timelineRng.uniform(0.1, 4) * HOUR) / 1000) * 1000);
  const radiologyIssued = new Date(Math.min(endMs, imageAt.getTime() + timelineRng.uniform(0.5, 3) * HOUR));
  const ecgIssued = new Date(Math.min(endMs, ecgAt.getTime() + timelineRng.uniform(0.2, 2) * HOUR));

  const patient: Patient = {
    resourceType: 'Patient',
    id: patientId,
    meta: {
      tag: [
        {
          system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason',
          code: 'HTEST',
          display: 'test health data',
        },
      ],
    },
    identifier: [
      {
        use: 'usual',
        type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR' }] },
        system: syntheticMrnSystem,
        value: identity.mrn,
      },
    ],
    active: true,
    name: [{ use: 'official', family: identity.family, given: [identity.given] }],
    gender: state.sex,
    birthDate: identity.birthDate,
  };
  const encounter: Encounter = {
    resourceType: 'Encounter',
    id: encounterId,
    status: 'in-progress',
    class: {
      system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode',
      code: 'IMP',
      display: 'inpatient encounter',
    },
    subject: { reference: `Patient/${patientId}` },
    period: { start: new Date(startMs).toISOString() },
  };
  const resources: Resource[] = [patient, encounter];
  resources.push(
    ...generateClinicalObservations(
      state,
      labsRng,
      { patientId, encounterId, startMs, endMs },
      opts.rates,
      opts.site.siteLabUnits,
    ),
  );

  const dicom: GeneratedDicomInstance[] = [];
  let radiographLesions: LesionMasks | undefined;
  const writer = opts.labelsOnly ? undefined : (dcmjs ?? loadDcmjs());
  const dicomPatient = {
    patientName: `${identity.family}^${identity.given}`,
    patientId: identity.mrn,
    issuerOfPatientId: syntheticMrnSystem,
    birthDate: identity.birthDate,
    sex: state.sex,
  };
  const needsEndpoint = presence.image || presence.ecg;
  if (needsEndpoint) resources.push(dicomwebEndpoint(opts.dicomwebBaseUrl));

  // Chest radiograph: the study, its report, and the pixels.
  const encoding: RadiographEncoding = {
    modality: imageRng.chance(0.6) ? 'DX' : 'CR',
    photometricInterpretation: imageRng.chance(0.3) ? 'MONOCHROME1' : 'MONOCHROME2',
    bitsStored: imageRng.chance(0.5) ? 12 : 16,
    transferSyntaxUid: imageRng.chance(0.4)
      ? TransferSyntax.rleLossless
      : TransferSyntax.explicitVrLittleEndian,
    viewPosition: imageRng.chance(0.7) ? 'PA' : 'AP',
  };
  const cxrUids = {
    studyInstanceUid: randomDicomUid(uidRng),
    seriesInstanceUid: randomDicomUid(uidRng),
    sopInstanceUid: randomDicomUid(uidRng),
  };
  const ecgUids = {
    studyInstanceUid: randomDicomUid(uidRng),
    seriesInstanceUid: randomDicomUid(uidRng),
    sopInstanceUid: randomDicomUid(uidRng),
  };
  const cxrAccession = `ACC${index}${uidRng.int(100000, 999999)}`;
  const ecgAccession = `ACC${index}${uidRng.int(100000, 999999)}`;
  const views = encoding.viewPosition === 'PA' ? 'PA and lateral' : 'AP portable';
  const cxrText = chestRadiographReport(state, reportRng, views);
  if (presence.image) {
    resources.push(
      imagingStudy({
        id: `${patientId}-cxr`,
        patientId,
        encounterId,
        started: imageAt,
        modality: encoding.modality,
        description: `XR chest ${encoding.viewPosition}`,
        ...cxrUids,
        sopClassUid: radiographSopClass[encoding.modality],
        accessionNumber: cxrAccession,
        bodySite: { code: '51185008', display: 'Thoracic structure' },
      }),
    );
    if (writer) {
      const pixels = drawChestRadiograph(state, imageRng, opts.imageSize, opts.site);
      radiographLesions = pixels.lesions;
      const bytes = encodeChestRadiographDicom(writer, pixels, encoding, {
        ...dicomPatient,
        ...cxrUids,
        accessionNumber: cxrAccession,
        acquired: imageAt,
        studyDescription: `XR chest ${encoding.viewPosition}`,
      });
      dicom.push({ kind: 'chest-radiograph', ...cxrUids, bytes });
    }
  }
  if (presence.report) {
    resources.push(
      diagnosticReport({
        id: `${patientId}-cxr-report`,
        patientId,
        encounterId,
        kind: 'radiology',
        loinc:
          views === 'PA and lateral'
            ? { code: '36643-5', display: 'XR Chest 2 Views' }
            : { code: '36554-4', display: 'XR Chest Single view' },
        effective: imageAt,
        issued: radiologyIssued,
        text: cxrText,
        ...(presence.image ? { imagingStudyId: `${patientId}-cxr` } : {}),
      }),
    );
  }

  // ECG: the waveform as a FHIR Observation and as DICOM, an ImagingStudy for the DICOM copy,
  // and the interpretation report. Signals are skipped in labelsOnly mode.
  let ecgRhythm: CohortLabel['ecgRhythm'];
  if (presence.ecg && writer) {
    const recording = synthesiseEcg(state, ecgRng);
    ecgRhythm = recording.measurements.rhythm;
    const observationId = `${patientId}-ecg`;
    resources.push(
      ecgObservation(recording, { id: observationId, patientId, encounterId, effective: ecgAt }),
    );
    resources.push(
      imagingStudy({
        id: `${patientId}-ecg-study`,
        patientId,
        encounterId,
        started: ecgAt,
        modality: 'ECG',
        description: 'Resting 12-lead ECG',
        ...ecgUids,
        sopClassUid: twelveLeadEcgSopClass,
        accessionNumber: ecgAccession,
      }),
    );
    resources.push(
      diagnosticReport({
        id: `${patientId}-ecg-report`,
        patientId,
        encounterId,
        kind: 'ecg',
        loinc: { code: '11524-6', display: 'EKG study' },
        effective: ecgAt,
        issued: ecgIssued,
        text: ecgReport(recording.measurements, reportRng),
        resultObservationId: observationId,
      }),
    );
    dicom.push({
      kind: 'ecg-waveform',
      ...ecgUids,
      bytes: encodeEcgWaveformDicom(writer, recording, {
        ...dicomPatient,
        ...ecgUids,
        accessionNumber: ecgAccession,
        acquired: ecgAt,
        studyDescription: 'Resting 12-lead ECG',
      }),
    });
  }
  const labels: CohortLabel = {
    patientId,
    conditions: { ...state.recorded },
    latentConditions: { ...state.conditions },
    ...(ecgRhythm ? { ecgRhythm } : {}),
  };
  return { patientId, resources, dicom, labels, ...(radiographLesions ? { radiographLesions } : {}) };
}

/**
 * Generates the cohort lazily, one patient at a time (memory stays flat for large cohorts).
 * Patient i draws from its own stream `createRng(seed, i)`, so any patient can be regenerated
 * alone and the cohort's first n patients do not depend on its size.
 */
export function* generateCohort(options: CohortOptions): Generator<GeneratedPatient, void, undefined> {
  const opts = resolveCohortOptions(options);
  const dcmjs = opts.labelsOnly ? undefined : loadDcmjs();
  for (let i = 0; i < opts.patients; i++) yield generatePatient(i, opts, createRng(opts.seed, i + 1), dcmjs);
}
