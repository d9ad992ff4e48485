import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { constants, responses, Scp } from './dcmjs-dimse-api.js';
import type {
  CEchoRequest,
  CEchoResponse,
  CStoreRequest,
  CStoreResponse,
  Dataset,
  DimseAssociation,
} from './dcmjs-dimse-api.js';
import type { ReceivedInstance } from './received-instance.js';
import { ACCEPTED_TRANSFER_SYNTAXES, IMAGE_SOP_CLASSES } from './received-instance.js';
import type { StowFailure } from './stow-instance.js';

const {
  PresentationContextResult,
  RejectReason,
  RejectResult,
  RejectSource,
  SopClass,
  Status,
  StorageClass,
} = constants;
/** C-STORE Refused: Out of Resources (PS3.4 Table B.2-1, A7xx); dcmjs-dimse names only the C-FIND/C-MOVE ones. */
const REFUSED_OUT_OF_RESOURCES = 0xa700;
const STORAGE_CLASSES: ReadonlySet<string> = new Set(Object.values(StorageClass) as string[]);

/** What one association's SCP needs; shared by all associations of a listener. */
export interface DimseScpDeps {
  aeTitle: string;
  allowedCallingAeTitles: readonly string[];
  logger: Logger;
  /** Stores the Part-10 bytes durably (STOW-RS); the C-STORE answer waits for it. */
  store: (
    part10: Uint8Array,
    sopInstanceUid: string,
  ) => Promise<{ ok: true } | { ok: false; reason: StowFailure }>;
  /**
   * Records an image instance once the PACS has it (its study's quiet period starts again); the
   * C-STORE answer waits for it too, so an acknowledged instance is always handed over, even after
   * a crash. Rejects when it could not be recorded.
   */
  stored: (instance: ReceivedInstance) => Promise<void>;
  /** Counts refusals and ignored instances by reason. */
  count: (reason: string) => void;
}

/**
 * The SCP of one association (PS3.7 §9.1.1 C-STORE, §9.1.5 C-ECHO; PS3.8 §7.1 association
 * establishment). Associations from Calling AE Titles outside the allow-list, or naming another
 * Called AE Title, are rejected; presentation contexts are accepted for Verification and the
 * Storage SOP classes with one of {@link ACCEPTED_TRANSFER_SYNTAXES}.
 */
export class DimseScp extends Scp {
  readonly #deps: DimseScpDeps;

  constructor(socket: Socket, deps: DimseScpDeps, opts: { associationTimeout: number; pduTimeout: number }) {
    super(socket, opts);
    this.#deps = deps;
  }

  override associationRequested(association: DimseAssociation): void {
    const { allowedCallingAeTitles, aeTitle, logger, count } = this.#deps;
    const calling = association.getCallingAeTitle().trim();
    const called = association.getCalledAeTitle().trim();
    if (!allowedCallingAeTitles.includes(calling)) {
      // PS3.8 §9.3.4 A-ASSOCIATE-RJ: rejected-permanent, service-user, calling-AE-title-not-recognized.
      logger.info({ calling }, 'dicom association rejected: calling AE title not allowed');
      count('dimse-calling-ae-not-allowed');
      this.sendAssociationReject(
        RejectResult.Permanent,
        RejectSource.ServiceUser,
        RejectReason.CallingAeNotRecognized,
      );
      return;
    }
    if (called !== aeTitle) {
      logger.info({ calling }, 'dicom association rejected: called AE title is not ours');
      count('dimse-called-ae-not-recognized');
      this.sendAssociationReject(
        RejectResult.Permanent,
        RejectSource.ServiceUser,
        RejectReason.CalledAeNotRecognized,
      );
      return;
    }
    for (const { id } of association.getPresentationContexts()) {
      const context = association.getPresentationContext(id);
      const abstract = context.getAbstractSyntaxUid();
      if (abstract !== SopClass.Verification && !STORAGE_CLASSES.has(abstract)) {
        context.setResult(PresentationContextResult.RejectAbstractSyntaxNotSupported);
        continue;
      }
      const proposed = context.getTransferSyntaxUids();
      const accepted = ACCEPTED_TRANSFER_SYNTAXES.find((ts) => proposed.includes(ts));
      if (accepted) context.setResult(PresentationContextResult.Accept, accepted);
      else {
        count('dimse-transfer-syntax-not-supported');
        context.setResult(PresentationContextResult.RejectTransferSyntaxesNotSupported);
      }
    }
    logger.info({ calling }, 'dicom association accepted');
    this.sendAssociationAccept();
  }

  override associationReleaseRequested(): void {
    this.sendAssociationReleaseResponse();
  }

  override cEchoRequest(request: CEchoRequest, callback: (response: CEchoResponse) => void): void {
    const response = responses.CEchoResponse.fromRequest(request);
    response.setStatus(Status.Success);
    callback(response);
  }

  override cStoreRequest(request: CStoreRequest, callback: (response: CStoreResponse) => void): void {
    void this.#store(request).then(
      ({ status, reason }) => {
        const response = responses.CStoreResponse.fromRequest(request);
        response.setStatus(status);
        // Error Comment (0000,0902) names the reason; it never carries instance content.
        if (reason) response.setErrorComment(reason);
        callback(response);
      },
      () => {
        const response = responses.CStoreResponse.fromRequest(request);
        response.setStatus(Status.ProcessingFailure);
        callback(response);
      },
    );
  }

  /**
   * Store-before-acknowledge: Success (0000H) only once the PACS has answered the STOW-RS request
   * and the instance is recorded for its study's hand-over.
   * A non-image SOP class is Success too (the SCU has nothing to resend) but stored nowhere, with
   * the reason counted; PACS trouble is A700 (Refused: Out of Resources), which SCUs retry.
   */
  async #store(request: CStoreRequest): Promise<{ status: number; reason?: string }> {
    const { logger, count } = this.#deps;
    const dataset = request.getDataset();
    const sopClassUid = request.getAffectedSopClassUid();
    if (!IMAGE_SOP_CLASSES.has(sopClassUid)) {
      count('dimse-not-an-image');
      logger.info({ sopClassUid, outcome: 'ignored', reason: 'not-an-image' }, 'dicom instance received');
      return { status: Status.Success, reason: 'ignored: not-an-image' };
    }
    const instance = dataset ? readInstance(dataset, sopClassUid) : undefined;
    if (!dataset || !instance) {
      count('dimse-missing-attributes');
      return {
        // PS3.4 Table B.2-1: A900 Error, Data Set does not match SOP Class (required attributes absent).
        status: Status.DataSetSopClassMismatch,
        reason: 'missing study/series/instance UID or Patient ID',
      };
    }
    const part10 = await toPart10(dataset);
    const stored = await this.#deps.store(part10, instance.sopInstanceUid);
    if (!stored.ok) {
      count(`dimse-stow-${stored.reason}`);
      logger.warn({ sopClassUid, outcome: 'not-stored', reason: stored.reason }, 'dicom instance received');
      return { status: REFUSED_OUT_OF_RESOURCES, reason: `not stored: ${stored.reason}` };
    }
    try {
      await this.#deps.stored(instance);
    } catch {
      // In the PACS but not recorded for its study's hand-over: refuse, the SCU's resend records it.
      count('dimse-pending-not-recorded');
      logger.warn(
        { sopClassUid, outcome: 'not-recorded', reason: 'pending-not-recorded' },
        'dicom instance received',
      );
      return { status: REFUSED_OUT_OF_RESOURCES, reason: 'not stored: pending-not-recorded' };
    }
    logger.info({ sopClassUid, outcome: 'stored', bytes: part10.length }, 'dicom instance received');
    return { status: Status.Success };
  }
}

/** The attributes the door keeps (PS3.3 C.7.1.1, C.7.2.1, C.7.3.1, C.12.1); undefined when a key one is missing. */
function readInstance(dataset: Dataset, sopClassUid: string): ReceivedInstance | undefined {
  const e = dataset.getElements() as Record<string, unknown>;
  const text = (key: string): string => (typeof e[key] === 'string' ? (e[key] as string).trim() : '');
  const instance: ReceivedInstance = {
    studyInstanceUid: text('StudyInstanceUID'),
    seriesInstanceUid: text('SeriesInstanceUID'),
    sopInstanceUid: text('SOPInstanceUID'),
    sopClassUid,
    modality: text('Modality'),
    patientId: text('PatientID'),
    issuerOfPatientId: text('IssuerOfPatientID'),
    studyDate: text('StudyDate'),
    studyTime: text('StudyTime'),
    studyDescription: text('StudyDescription'),
  };
  const required = [
    instance.studyInstanceUid,
    instance.seriesInstanceUid,
    instance.sopInstanceUid,
    instance.patientId,
  ];
  return required.every(Boolean) ? instance : undefined;
}

/** The received dataset as a Part-10 file (PS3.10 §7.1) in its accepted transfer syntax, written by dcmjs-dimse. */
async function toPart10(dataset: Dataset): Promise<Uint8Array> {
  const dir = await mkdtemp(join(tmpdir(), 'fhir-fusion-dimse-'));
  try {
    const path = join(dir, 'instance.dcm');
    await new Promise<void>((resolve, reject) =>
      dataset.toFile(path, (err) => (err ? reject(err) : resolve())),
    );
    return await readFile(path);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
