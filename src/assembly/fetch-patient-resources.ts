import type { MedplumClient } from '@medplum/core';
import type {
  Bundle,
  BundleEntry,
  DiagnosticReport,
  Endpoint,
  ImagingStudy,
  Observation,
  Patient,
  Resource,
} from '@medplum/fhirtypes';

/** Look-back windows in hours, per modality (the widest any active model asks for). */
export interface AssemblyWindows {
  tabular: number;
  text: number;
  image: number;
  ecg: number;
}

/** The raw resources of one patient inside the windows, and how many HTTP round trips it took. */
export interface PatientResources {
  patient: Patient;
  observations: Observation[];
  reports: DiagnosticReport[];
  studies: ImagingStudy[];
  endpoints: Endpoint[];
  roundTrips: number;
}

/** The EHR could not be reached or answered an error: the job retries. */
export class EhrFetchError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'EhrFetchError';
  }
}

const MAX_PAGES = 50;

/**
 * Fetches everything one patient's assessment needs in as few round trips as FHIR allows: ONE
 * batch Bundle (FHIR R4 §3.1.0.11 batch) carrying the Patient read and three searches, with the
 * ImagingStudy endpoints pulled in by `_include` (R4 §3.1.1.5.6); then each searchset's `next`
 * link followed to the end (R4 §3.1.1.6 paging). One request per resource type would be four
 * round trips plus one per endpoint.
 */
export async function fetchPatientResources(
  client: MedplumClient,
  patientId: string,
  windows: AssemblyWindows,
  asOf: Date,
): Promise<PatientResources> {
  const since = (hours: number): string => new Date(asOf.getTime() - hours * 3_600_000).toISOString();
  const subject = `Patient/${encodeURIComponent(patientId)}`;
  const observationWindow = Math.max(windows.tabular, windows.ecg);
  const batch: Bundle = {
    resourceType: 'Bundle',
    type: 'batch',
    entry: [
      { request: { method: 'GET', url: `Patient/${encodeURIComponent(patientId)}` } },
      { request: { method: 'GET', url: `Observation?subject=${subject}&date=ge${since(observationWindow)}&_count=500` } },
      { request: { method: 'GET', url: `DiagnosticReport?subject=${subject}&date=ge${since(windows.text)}&_count=100` } },
      {
        request: {
          method: 'GET',
          url: `ImagingStudy?subject=${subject}&started=ge${since(windows.image)}&_include=ImagingStudy:endpoint&_count=50`,
        },
      },
    ],
  };
  let response: Bundle;
  try {
    response = await client.executeBatch(batch);
  } catch (err) {
    throw toFetchError(err);
  }
  let roundTrips = 1;
  const entries = response.entry ?? [];
  const patient = checkedResource<Patient>(entries[0], 'Patient');
  const searchsets: Array<Bundle | undefined> = [1, 2, 3].map((i) => checkedResource<Bundle>(entries[i], 'Bundle'));
  const collected: Resource[][] = [[], [], []];
  for (let i = 0; i < 3; i++) {
    let page = searchsets[i];
    let pages = 0;
    while (page) {
      for (const entry of page.entry ?? []) if (entry.resource) collected[i]?.push(entry.resource);
      const next = page.link?.find((l) => l.relation === 'next')?.url;
      if (!next || ++pages >= MAX_PAGES) break;
      try {
        page = await client.get<Bundle>(next);
      } catch (err) {
        throw toFetchError(err);
      }
      roundTrips++;
    }
  }
  if (!patient) throw new EhrFetchError('Patient read in batch failed', statusOf(entries[0]));
  const [obs = [], reports = [], imaging = []] = collected;
  return {
    patient,
    observations: obs.filter((r): r is Observation => r.resourceType === 'Observation'),
    reports: reports.filter((r): r is DiagnosticReport => r.resourceType === 'DiagnosticReport'),
    studies: imaging.filter((r): r is ImagingStudy => r.resourceType === 'ImagingStudy'),
    endpoints: imaging.filter((r): r is Endpoint => r.resourceType === 'Endpoint'),
    roundTrips,
  };
}

function statusOf(entry: BundleEntry | undefined): number | undefined {
  const status = entry?.response?.status;
  return status ? Number.parseInt(status, 10) : undefined;
}

function checkedResource<T extends Resource>(entry: BundleEntry | undefined, type: T['resourceType']): T | undefined {
  const status = statusOf(entry);
  if (status !== undefined && status >= 400) {
    if (status === 404 || status === 410) return undefined;
    throw new EhrFetchError(`batch entry for ${type} answered ${status}`, status);
  }
  const resource = entry?.resource;
  return resource?.resourceType === type ? (resource as T) : undefined;
}

function toFetchError(err: unknown): EhrFetchError {
  if (err instanceof EhrFetchError) return err;
  const status = (err as { outcome?: unknown; status?: number }).status;
  return new EhrFetchError(`EHR request failed: ${(err as Error).message?.slice(0, 200) ?? 'unknown error'}`, status);
}
