import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Dataset, log, requests } from '../../intake/dimse/dcmjs-dimse-api.js';
import type { DimseResponse } from '../../intake/dimse/dcmjs-dimse-api.js';

/** The SCP to push to and the AE titles of the association (PS3.8 §9.3.2). */
export interface CStoreTarget {
  host: string;
  port: number;
  callingAeTitle: string;
  calledAeTitle: string;
}

/** The SCP's answer to one instance: Status (0000,0900) and Error Comment (0000,0902). */
export interface CStoreOutcome {
  sopInstanceUid: string;
  status: number;
  comment?: string;
}

/** Options of {@link storeOverDimse}. */
export interface CStoreOptions {
  /** Associations tried for instances left without an answer or refused for resources (default 3). */
  attempts?: number;
  /** Wait before the next association (default 1 s). */
  retryDelayMs?: number;
  /** PDU timeout of the association: how long an answer may take (default 30 s). */
  timeoutMs?: number;
}

/** Refused: Out of Resources (PS3.4 Table B.2-1, A7xx): the SCP asks for the instance again later. */
function isRefusedForResources(status: number): boolean {
  return status >= 0xa700 && status <= 0xa7ff;
}

/**
 * The sandbox's end of the DICOM DIMSE door, playing a modality: pushes Part-10 instances with
 * C-STORE (PS3.4 Annex B, PS3.7 §9.1.1) over one association with dcmjs-dimse's `Client`, as a
 * modality's send queue does. An instance left without a response (connection lost, SCP gone) or
 * refused for resources (A7xx) is sent again on a new association, up to `attempts` times, so
 * an SCP that crashed between storing and answering gets the same SOP Instance UID twice.
 * Resolves with one outcome per instance in order; rejects when an instance never got an answer.
 */
export async function storeOverDimse(
  target: CStoreTarget,
  part10Files: readonly Uint8Array[],
  options: CStoreOptions = {},
): Promise<CStoreOutcome[]> {
  // dcmjs-dimse logs through its own loglevel logger, whole datasets included on request.
  log.setLevel('silent');
  const datasets = await readPart10(part10Files);
  const outcomes = new Map<number, CStoreOutcome>();
  const attempts = options.attempts ?? 3;
  let lastError: Error | undefined;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const todo = datasets
      .map((dataset, index) => ({ dataset, index }))
      .filter(({ index }) => {
        const outcome = outcomes.get(index);
        return outcome === undefined || isRefusedForResources(outcome.status);
      });
    if (todo.length === 0) break;
    if (attempt > 1) await new Promise((r) => setTimeout(r, options.retryDelayMs ?? 1000));
    lastError = await associate(target, todo, outcomes, options.timeoutMs ?? 30_000);
  }
  const unanswered = datasets.filter((_, index) => !outcomes.has(index)).length;
  if (unanswered > 0) {
    throw new Error(
      `${unanswered} of ${datasets.length} instances got no C-STORE response after ${attempts} associations` +
        (lastError ? `: ${lastError.message}` : ''),
    );
  }
  return datasets.map((_, index) => outcomes.get(index) as CStoreOutcome);
}

/**
 * Parses Part-10 files (PS3.10 §7.1: preamble, File Meta, data set) with dcmjs-dimse: its public
 * reader takes a path (its constructor reads a bare data set), so the bytes pass through a
 * private temporary folder.
 */
async function readPart10(files: readonly Uint8Array[]): Promise<Array<InstanceType<typeof Dataset>>> {
  const dir = await mkdtemp(join(tmpdir(), 'fhir-fusion-scu-'));
  try {
    const datasets: Array<InstanceType<typeof Dataset>> = [];
    for (const [i, bytes] of files.entries()) {
      const path = join(dir, `${i}.dcm`);
      await writeFile(path, bytes);
      datasets.push(
        await new Promise((resolve, reject) =>
          Dataset.fromFile(path, (err, dataset) => (err || !dataset ? reject(err) : resolve(dataset))),
        ),
      );
    }
    return datasets;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** One association carrying `todo`; answers land in `outcomes`; resolves when it has closed. */
function associate(
  target: CStoreTarget,
  todo: ReadonlyArray<{ dataset: InstanceType<typeof Dataset>; index: number }>,
  outcomes: Map<number, CStoreOutcome>,
  timeoutMs: number,
): Promise<Error | undefined> {
  return new Promise((resolve) => {
    const client = new Client();
    let error: Error | undefined;
    for (const { dataset, index } of todo) {
      const request = new requests.CStoreRequest(dataset);
      const sopInstanceUid = String(dataset.getElement('SOPInstanceUID') ?? '');
      request.on('response', (response: DimseResponse) => {
        outcomes.set(index, {
          sopInstanceUid,
          status: response.getStatus(),
          ...(response.getErrorComment() ? { comment: response.getErrorComment() } : {}),
        });
      });
      client.addRequest(request);
    }
    client.on('associationRejected', () => {
      error = new Error('association rejected');
    });
    client.on('networkError', (e: Error) => {
      error = e;
    });
    client.on('closed', () => resolve(error));
    client.send(target.host, target.port, target.callingAeTitle, target.calledAeTitle, {
      connectTimeout: timeoutMs,
      associationTimeout: timeoutMs,
      pduTimeout: timeoutMs,
    });
  });
}
