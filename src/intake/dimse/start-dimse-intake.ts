import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import type { MedplumClient } from '@medplum/core';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import type { Config } from '../../config/config-schema.js';
import type { FetchLike } from '../../contracts/fetch-like.js';
import type { AssessmentQueue } from '../../jobs/assessment-queue.js';
import type { Metrics } from '../../observability/create-metrics.js';
import {
  deletePendingInstances,
  pendingStudies,
  pendingStudyInstances,
  upsertPendingInstance,
} from '../../store/dimse-pending-repository.js';
import { completeStudy } from './complete-study.js';
import { log } from './dcmjs-dimse-api.js';
import { DimseScp } from './dimse-scp.js';
import type { ReceivedInstance } from './received-instance.js';
import { studyQuietPeriod } from './study-quiet-period.js';
import { stowInstance } from './stow-instance.js';

/** The DICOM settings the door reads. */
type DimseSettings = Pick<
  Config,
  | 'HOST'
  | 'DICOM_PORT'
  | 'DICOM_AE_TITLE'
  | 'DICOM_ALLOWED_CALLING_AE_TITLES'
  | 'DICOM_STUDY_QUIET_MS'
  | 'DICOM_ISSUER_SYSTEMS'
  | 'DICOMWEB_BASE_URL'
>;

/** What the door needs from the runtime. */
export interface DimseIntakeDeps {
  pool: Pool;
  queue: AssessmentQueue;
  ehr: MedplumClient;
  logger: Logger;
  metrics: Metrics;
  /** The allow-listed DICOMweb fetch (the PACS's host is always allowed). */
  dicomFetch: FetchLike;
}

/** An open DIMSE listener. */
export interface DimseListener {
  port: number;
  /** Studies received and still inside their quiet period (timers of this process). */
  pendingStudies(): number;
  close(): Promise<void>;
}

/**
 * Starts the DICOM DIMSE door when `DICOM_PORT` is set: a C-STORE/C-ECHO SCP bound on HOST whose
 * images go to `DICOMWEB_BASE_URL` by STOW-RS before the C-STORE is answered, and whose studies,
 * once quiet for DICOM_STUDY_QUIET_MS, get their ImagingStudy and patient job (docs/dicom-dimse-intake.md).
 * Studies recorded in `dimse_pending_instances` by an earlier process are picked up at start.
 * Returns undefined when the port is unset.
 */
export async function startDimseIntake(
  config: DimseSettings,
  deps: DimseIntakeDeps,
): Promise<DimseListener | undefined> {
  if (config.DICOM_PORT === undefined) return undefined;
  const pacs = config.DICOMWEB_BASE_URL;
  if (!pacs)
    throw new Error(
      'DICOM_PORT is set but DICOMWEB_BASE_URL is not: received images would have nowhere to go',
    );
  // dcmjs-dimse logs through its own loglevel logger, with peer addresses; the door logs for itself.
  log.setLevel('silent');
  const { logger, metrics } = deps;
  const count = (reason: string): void => metrics.notificationsRejected.inc({ reason });
  const quiet = studyQuietPeriod(config.DICOM_STUDY_QUIET_MS, {
    quietFor: async (studyUid) => (await pendingStudyInstances(deps.pool, studyUid))?.quietForMs,
    async complete(studyUid) {
      const study = await pendingStudyInstances<ReceivedInstance>(deps.pool, studyUid);
      if (!study) return;
      const sops = study.instances.map((i) => i.sopInstanceUid);
      try {
        await completeStudy(study.instances, { ...deps, issuerSystems: config.DICOM_ISSUER_SYSTEMS }, (db) =>
          deletePendingInstances(db, studyUid, sops, study.receivedUpTo).then(() => undefined),
        );
      } catch (err) {
        logger.warn(
          { err: { name: (err as Error)?.name } },
          'dicom study not handed over; retried after another quiet period',
        );
        throw err;
      }
    },
  });
  const scpDeps = {
    aeTitle: config.DICOM_AE_TITLE,
    allowedCallingAeTitles: config.DICOM_ALLOWED_CALLING_AE_TITLES,
    logger,
    count,
    store: (part10: Uint8Array, sopInstanceUid: string) =>
      stowInstance(part10, sopInstanceUid, { baseUrl: pacs, fetch: deps.dicomFetch }),
    stored: async (instance: ReceivedInstance) => {
      await upsertPendingInstance(deps.pool, instance);
      metrics.notificationsReceived.inc({ dialect: 'dimse' });
      quiet.touch(instance.studyInstanceUid);
    },
  };
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    const scp = new DimseScp(socket, scpDeps, { associationTimeout: 30_000, pduTimeout: 60_000 });
    scp.on('networkError', () => {
      count('dimse-network-error');
      socket.destroy();
    });
  });
  server.maxConnections = 64;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.DICOM_PORT, config.HOST, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  // Studies a previous process acknowledged but did not hand over (stopped or killed in their
  // quiet period) are handed over once what is left of it has passed.
  const recorded = await pendingStudies(deps.pool);
  quiet.restore(recorded);
  logger.info(
    { port, aeTitle: config.DICOM_AE_TITLE, pendingStudies: recorded.length },
    'dicom dimse listener open',
  );
  return {
    port,
    pendingStudies: () => quiet.pending(),
    async close() {
      quiet.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}
