import { createReadStream, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Bundle, BundleEntry, OperationOutcome, Resource } from '@medplum/fhirtypes';
import type { GeneratedPatient } from './generate-patient.js';
import { parseStowResponse, stowMultipartBody } from './stow-rs.js';
import { withoutTrailingSlash } from '../../contracts/base-url.js';

/** Progress of loading: patients (FHIR phase) or DICOM files (DICOM phase of a directory load). */
export interface LoadProgress {
  phase: 'fhir' | 'dicom';
  done: number;
  /** Total when known (directory loads and arrays); undefined for open-ended generators. */
  total: number | undefined;
  ratePerSecond: number;
}

/** Options of `loadCohort`: exactly one of `dir` or `generator`. */
export interface LoadCohortOptions {
  /** A directory written by `writeCohort`. */
  dir?: string;
  /** Patients straight from `generateCohort` (nothing touches the disk). */
  generator?: Iterable<GeneratedPatient>;
  /** FHIR R4 base URL (transaction endpoint). */
  fhirBaseUrl: string;
  /** DICOMweb base URL (STOW-RS at `{base}/studies`). */
  dicomwebBaseUrl: string;
  /** HTTP client; defaults to the global fetch. */
  fetch?: typeof fetch;
  /** Extra request headers for both servers, e.g. `Authorization`. */
  headers?: Record<string, string>;
  /** DICOM files per STOW-RS request for directory loads (default 8). */
  stowBatchSize?: number;
  /**
   * Most entries per transaction Bundle (default 50). Servers cap transaction size (Medplum's
   * router refuses more than 50 updates); resources are PUT at fixed ids, so a patient split over
   * several transactions keeps its references intact and a re-run is still idempotent.
   */
  maxTransactionEntries?: number;
  onProgress?: (p: LoadProgress) => void;
}

/** What was loaded. */
export interface LoadSummary {
  patients: number;
  resources: number;
  dicomInstances: number;
  seconds: number;
}

/** A load request that the server refused, with the server's OperationOutcome when it sent one. */
export class CohortLoadError extends Error {
  constructor(
    message: string,
    readonly target: 'fhir' | 'dicomweb',
    readonly status: number,
    readonly outcome?: OperationOutcome,
  ) {
    super(message);
    this.name = 'CohortLoadError';
  }
}

/**
 * A transaction Bundle (FHIR R4 §3.1.0.11.2) that PUTs every resource at its id: loading twice
 * gives the same server state (update-as-create, FHIR R4 §3.1.0.4.3), so loads are idempotent.
 */
export function transactionBundle(resources: readonly Resource[], fhirBaseUrl: string): Bundle {
  const base = withoutTrailingSlash(fhirBaseUrl);
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: resources.map((resource): BundleEntry => {
      if (!resource.id) throw new Error(`${resource.resourceType} without id cannot be loaded idempotently`);
      return {
        fullUrl: `${base}/${resource.resourceType}/${resource.id}`,
        resource,
        request: { method: 'PUT', url: `${resource.resourceType}/${resource.id}` },
      };
    }),
  };
}

function isOperationOutcome(x: unknown): x is OperationOutcome {
  return (
    typeof x === 'object' &&
    x !== null &&
    (x as { resourceType?: unknown }).resourceType === 'OperationOutcome'
  );
}

async function readJson(response: Response): Promise<unknown> {
  const text = await response.text();
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Sends the resources in transactions of at most `maxTransactionEntries` entries, Patient first. */
async function postTransaction(
  doFetch: typeof fetch,
  opts: LoadCohortOptions,
  resources: readonly Resource[],
): Promise<void> {
  const size = Math.max(1, opts.maxTransactionEntries ?? 50);
  for (let i = 0; i < resources.length; i += size) {
    await postOneTransaction(doFetch, opts, resources.slice(i, i + size));
  }
}

/** Sends one transaction and checks every entry's status (FHIR R4 §3.1.0.11.3: all or nothing). */
async function postOneTransaction(
  doFetch: typeof fetch,
  opts: LoadCohortOptions,
  resources: readonly Resource[],
): Promise<void> {
  const response = await doFetch(withoutTrailingSlash(opts.fhirBaseUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/fhir+json', accept: 'application/fhir+json', ...opts.headers },
    body: JSON.stringify(transactionBundle(resources, opts.fhirBaseUrl)),
  });
  const body = await readJson(response);
  if (!response.ok) {
    throw new CohortLoadError(
      `FHIR transaction failed with HTTP ${response.status}`,
      'fhir',
      response.status,
      isOperationOutcome(body) ? body : undefined,
    );
  }
  const bundle = body as Bundle | undefined;
  if (bundle?.resourceType !== 'Bundle' || bundle.type !== 'transaction-response') {
    throw new CohortLoadError(
      'FHIR transaction answered without a transaction-response Bundle',
      'fhir',
      response.status,
    );
  }
  for (const entry of bundle.entry ?? []) {
    const status = Number.parseInt(entry.response?.status ?? '', 10);
    if (!(status >= 200 && status < 300)) {
      const outcome = entry.response?.outcome;
      throw new CohortLoadError(
        `FHIR transaction entry failed: ${entry.response?.status ?? 'no status'}`,
        'fhir',
        status,
        isOperationOutcome(outcome) ? outcome : undefined,
      );
    }
  }
}

/** Stores instances with STOW-RS (PS3.18 §10.5); 200 and 202 succeed unless instances failed. */
async function postStow(
  doFetch: typeof fetch,
  opts: LoadCohortOptions,
  instances: readonly Uint8Array[],
): Promise<void> {
  if (instances.length === 0) return;
  const { contentType, body } = stowMultipartBody(instances);
  const response = await doFetch(`${withoutTrailingSlash(opts.dicomwebBaseUrl)}/studies`, {
    method: 'POST',
    headers: { 'content-type': contentType, accept: 'application/dicom+json', ...opts.headers },
    body,
  });
  const json = await readJson(response);
  const result = parseStowResponse(response.status, json);
  if (!response.ok || result.failedSopInstanceUids.length > 0) {
    throw new CohortLoadError(
      `STOW-RS failed with HTTP ${response.status}; ${result.failedSopInstanceUids.length} instance(s) refused`,
      'dicomweb',
      response.status,
    );
  }
}

/** Line iterator over an NDJSON file with one-line look-ahead; every line must be a resource with an id. */
class NdjsonReader {
  private readonly lines: AsyncIterator<string>;
  private head: Resource | undefined;
  private done = false;
  private lineNumber = 0;
  constructor(private readonly path: string) {
    this.lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity })[
      Symbol.asyncIterator
    ]();
  }
  async peek(): Promise<Resource | undefined> {
    while (this.head === undefined && !this.done) {
      const next = await this.lines.next();
      this.lineNumber++;
      if (next.done) this.done = true;
      else if (next.value.trim() !== '') this.head = this.parse(next.value);
    }
    return this.head;
  }
  take(): void {
    this.head = undefined;
  }
  private parse(line: string): Resource {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new Error(`${this.path}:${this.lineNumber}: not JSON`);
    }
    const candidate = value as { resourceType?: unknown; id?: unknown } | null;
    if (typeof candidate?.resourceType !== 'string' || typeof candidate.id !== 'string') {
      throw new Error(`${this.path}:${this.lineNumber}: not a FHIR resource with resourceType and id`);
    }
    return value as Resource;
  }
}

function subjectOf(resource: Resource): string | undefined {
  if (resource.resourceType === 'Patient') return resource.id;
  const ref = (resource as { subject?: { reference?: string } }).subject?.reference;
  return ref?.startsWith('Patient/') ? ref.slice('Patient/'.length) : undefined;
}

/**
 * Groups a `writeCohort` directory back into patients without holding it in memory: every NDJSON
 * file lists resources in patient order, so a merge over all files yields one patient at a time.
 * Resources without a subject (the shared Endpoint) come first as their own group.
 */
async function* patientsFromDirectory(
  dir: string,
): AsyncGenerator<{ patientId: string | undefined; resources: Resource[] }> {
  const fhirDir = join(dir, 'fhir');
  const files = readdirSync(fhirDir)
    .filter((f) => f.endsWith('.ndjson'))
    .sort();
  if (!files.includes('Patient.ndjson')) throw new Error(`${fhirDir} has no Patient.ndjson`);
  const others = files.filter((f) => f !== 'Patient.ndjson').map((f) => new NdjsonReader(join(fhirDir, f)));
  const shared: Resource[] = [];
  for (const reader of others) {
    for (
      let r = await reader.peek();
      r !== undefined && subjectOf(r) === undefined;
      r = await reader.peek()
    ) {
      shared.push(r);
      reader.take();
    }
  }
  if (shared.length > 0) yield { patientId: undefined, resources: shared };
  const patients = new NdjsonReader(join(fhirDir, 'Patient.ndjson'));
  for (let patient = await patients.peek(); patient !== undefined; patient = await patients.peek()) {
    patients.take();
    const resources: Resource[] = [patient];
    for (const reader of others) {
      for (
        let r = await reader.peek();
        r !== undefined && subjectOf(r) === patient.id;
        r = await reader.peek()
      ) {
        resources.push(r);
        reader.take();
      }
    }
    yield { patientId: patient.id, resources };
  }
  for (const reader of others) {
    const left = await reader.peek();
    if (left)
      throw new Error(
        `${left.resourceType}/${left.id ?? ''} is out of patient order or references an unknown patient`,
      );
  }
}

/**
 * Loads a cohort into any FHIR R4 server (one transaction Bundle per patient, PUT with ids, so
 * re-running is safe) and any DICOMweb server (STOW-RS, `multipart/related;
 * type="application/dicom"`). From a generator, each patient's DICOM instances go in one STOW
 * request right after its Bundle; from a directory, DICOM files follow the FHIR phase in batches.
 * @throws CohortLoadError when a server refuses a request; earlier patients stay loaded.
 */
export async function loadCohort(opts: LoadCohortOptions): Promise<LoadSummary> {
  if ((opts.dir === undefined) === (opts.generator === undefined))
    throw new TypeError('loadCohort needs exactly one of dir or generator');
  const doFetch = opts.fetch ?? fetch;
  const started = performance.now();
  const rate = (done: number) => done / Math.max(1e-3, (performance.now() - started) / 1000);
  let patients = 0;
  let resources = 0;
  let dicomInstances = 0;
  const sharedSent = new Set<string>();
  if (opts.generator) {
    const total = Array.isArray(opts.generator) ? opts.generator.length : undefined;
    for (const patient of opts.generator) {
      // The shared Endpoint is identical in every patient: send it with the first one only.
      const toSend = patient.resources.filter((r) => {
        if (r.resourceType !== 'Endpoint') return true;
        const key = `Endpoint/${r.id ?? ''}`;
        if (sharedSent.has(key)) return false;
        sharedSent.add(key);
        return true;
      });
      await postTransaction(doFetch, opts, toSend);
      await postStow(
        doFetch,
        opts,
        patient.dicom.map((d) => d.bytes),
      );
      patients++;
      resources += toSend.length;
      dicomInstances += patient.dicom.length;
      opts.onProgress?.({ phase: 'fhir', done: patients, total, ratePerSecond: rate(patients) });
    }
  } else if (opts.dir) {
    const dir = opts.dir;
    const cohortJson = join(dir, 'cohort.json');
    const total = existsSync(cohortJson)
      ? (JSON.parse(readFileSync(cohortJson, 'utf8')) as { counts?: { patients?: number } }).counts?.patients
      : undefined;
    for await (const group of patientsFromDirectory(dir)) {
      await postTransaction(doFetch, opts, group.resources);
      resources += group.resources.length;
      if (group.patientId !== undefined) {
        patients++;
        opts.onProgress?.({ phase: 'fhir', done: patients, total, ratePerSecond: rate(patients) });
      }
    }
    const dicomDir = join(dir, 'dicom');
    const files = existsSync(dicomDir)
      ? readdirSync(dicomDir)
          .filter((f) => f.endsWith('.dcm'))
          .sort()
      : [];
    const batch = Math.max(1, opts.stowBatchSize ?? 8);
    const dicomStarted = performance.now();
    for (let i = 0; i < files.length; i += batch) {
      const chunk = files.slice(i, i + batch).map((f) => new Uint8Array(readFileSync(join(dicomDir, f))));
      await postStow(doFetch, opts, chunk);
      dicomInstances += chunk.length;
      opts.onProgress?.({
        phase: 'dicom',
        done: dicomInstances,
        total: files.length,
        ratePerSecond: dicomInstances / Math.max(1e-3, (performance.now() - dicomStarted) / 1000),
      });
    }
  }
  return { patients, resources, dicomInstances, seconds: (performance.now() - started) / 1000 };
}
