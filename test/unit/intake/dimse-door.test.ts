import { Socket } from 'node:net';
import dimse from 'dcmjs-dimse';
import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { identifierSystem, imagingStudyOf } from '../../../src/intake/dimse/complete-study.js';
import { DimseScp } from '../../../src/intake/dimse/dimse-scp.js';
import type { DimseScpDeps } from '../../../src/intake/dimse/dimse-scp.js';
import type { ReceivedInstance } from '../../../src/intake/dimse/received-instance.js';
import { stowInstance } from '../../../src/intake/dimse/stow-instance.js';
import { studyQuietPeriod } from '../../../src/intake/dimse/study-quiet-period.js';

const { constants, association, Dataset, requests } = dimse;
const { PresentationContextResult, RejectReason, SopClass, StorageClass, TransferSyntax } = constants;

function scpWith(overrides: Partial<DimseScpDeps> = {}) {
  const counted: string[] = [];
  const deps: DimseScpDeps = {
    aeTitle: 'FUSIONSCP',
    allowedCallingAeTitles: ['MODALITY1'],
    logger: pino({ level: 'silent' }),
    store: async () => ({ ok: true }),
    stored: async () => undefined,
    count: (reason) => counted.push(reason),
    ...overrides,
  };
  const scp = new DimseScp(new Socket(), deps, { associationTimeout: 1000, pduTimeout: 1000 });
  const accept = vi.spyOn(scp, 'sendAssociationAccept').mockImplementation(() => undefined);
  const reject = vi.spyOn(scp, 'sendAssociationReject').mockImplementation(() => undefined);
  return { scp, accept, reject, counted };
}

function request(calling: string, called: string, contexts: Array<[string, string[]]>) {
  const a = new association.Association(calling, called);
  const ids = contexts.map(([abstract, syntaxes]) => {
    const id = a.addPresentationContext(abstract);
    for (const ts of syntaxes) a.getPresentationContext(id).addTransferSyntaxUid(ts);
    return id;
  });
  return { a, ids };
}

describe('DIMSE association negotiation (PS3.8 §7.1, PS3.7 §D.3.3.2)', () => {
  it('accepts Verification and storage contexts in a decodable transfer syntax, rejects the rest per context', () => {
    const { scp, accept, reject } = scpWith();
    const { a, ids } = request('MODALITY1', 'FUSIONSCP', [
      [SopClass.Verification, [TransferSyntax.ImplicitVRLittleEndian]],
      [StorageClass.DigitalXRayImageStorageForPresentation, [TransferSyntax.Jpeg2000Lossless]],
      [
        StorageClass.DigitalXRayImageStorageForPresentation,
        [TransferSyntax.Jpeg2000Lossless, TransferSyntax.ExplicitVRLittleEndian],
      ],
      [SopClass.StudyRootQueryRetrieveInformationModelFind, [TransferSyntax.ExplicitVRLittleEndian]],
    ]);
    scp.associationRequested(a);
    expect(reject).not.toHaveBeenCalled();
    expect(accept).toHaveBeenCalledOnce();
    const result = (id: number) => a.getPresentationContext(id);
    expect(result(ids[0]!).getResult()).toBe(PresentationContextResult.Accept);
    expect(result(ids[1]!).getResult()).toBe(PresentationContextResult.RejectTransferSyntaxesNotSupported);
    expect(result(ids[2]!).getResult()).toBe(PresentationContextResult.Accept);
    expect(result(ids[2]!).getAcceptedTransferSyntaxUid()).toBe(TransferSyntax.ExplicitVRLittleEndian);
    // C-FIND is not offered (docs/dicom-dimse-intake.md, not done).
    expect(result(ids[3]!).getResult()).toBe(PresentationContextResult.RejectAbstractSyntaxNotSupported);
  });

  it('rejects an unknown calling AE title and a called AE title that is not ours', () => {
    const stranger = scpWith();
    stranger.scp.associationRequested(
      request('STRANGER', 'FUSIONSCP', [[SopClass.Verification, ['1.2.840.10008.1.2']]]).a,
    );
    expect(stranger.accept).not.toHaveBeenCalled();
    expect(stranger.reject.mock.calls[0]?.[2]).toBe(RejectReason.CallingAeNotRecognized);
    expect(stranger.counted).toEqual(['dimse-calling-ae-not-allowed']);
    const elsewhere = scpWith();
    elsewhere.scp.associationRequested(
      request('MODALITY1', 'OTHERPACS', [[SopClass.Verification, ['1.2.840.10008.1.2']]]).a,
    );
    expect(elsewhere.reject.mock.calls[0]?.[2]).toBe(RejectReason.CalledAeNotRecognized);
  });
});

describe('C-STORE: store before acknowledge (PS3.4 Table B.2-1)', () => {
  const dx = (patientId = 'SYNTH-1') =>
    new requests.CStoreRequest(
      new Dataset(
        {
          SOPClassUID: StorageClass.DigitalXRayImageStorageForPresentation,
          SOPInstanceUID: '1.9.1.1',
          StudyInstanceUID: '1.9',
          SeriesInstanceUID: '1.9.1',
          Modality: 'DX',
          ...(patientId ? { PatientID: patientId } : {}),
        },
        TransferSyntax.ExplicitVRLittleEndian,
      ),
    );
  const answer = (scp: DimseScp, req: InstanceType<typeof requests.CStoreRequest>) =>
    new Promise<{ status: number; comment: string }>((resolve) =>
      scp.cStoreRequest(req, (r) => resolve({ status: r.getStatus(), comment: r.getErrorComment() })),
    );

  it('answers Success only after the PACS stored the instance; A700 and no hand-over when it did not', async () => {
    const events: string[] = [];
    const ok = scpWith({
      store: async (bytes) => {
        events.push(`stow ${Buffer.from(bytes.subarray(128, 132)).toString()}`);
        return { ok: true };
      },
      stored: async (i) => void events.push(`stored ${i.sopInstanceUid}`),
    });
    expect(await answer(ok.scp, dx())).toMatchObject({ status: constants.Status.Success });
    expect(events).toEqual(['stow DICM', 'stored 1.9.1.1']);

    const handed: string[] = [];
    const down = scpWith({
      store: async () => ({ ok: false, reason: 'http-503' }),
      stored: async (i) => void handed.push(i.sopInstanceUid),
    });
    expect(await answer(down.scp, dx())).toEqual({ status: 0xa700, comment: 'not stored: http-503' });
    expect(handed).toEqual([]);
    expect(down.counted).toEqual(['dimse-stow-http-503']);
  });

  it('answers A700 when the stored instance cannot be recorded for its study hand-over', async () => {
    const { scp, counted } = scpWith({
      stored: async () => {
        throw new Error('database down');
      },
    });
    expect(await answer(scp, dx())).toEqual({ status: 0xa700, comment: 'not stored: pending-not-recorded' });
    expect(counted).toEqual(['dimse-pending-not-recorded']);
  });

  it('answers A900 to an image without Patient ID and stores nothing', async () => {
    const store = vi.fn(async () => ({ ok: true as const }));
    const { scp } = scpWith({ store });
    expect((await answer(scp, dx(''))).status).toBe(0xa900);
    expect(store).not.toHaveBeenCalled();
  });
});

describe('STOW-RS of a received instance (PS3.18 §10.5)', () => {
  const part10 = new Uint8Array([1, 2, 3, 4]);
  it('succeeds only on 200 without the instance in Failed SOP Sequence, and posts one multipart part', async () => {
    let seen: { url: string; type: string; body: Buffer } | undefined;
    const ok = await stowInstance(part10, '1.2.3', {
      baseUrl: 'http://pacs.test/dicom-web/',
      fetch: async (url, init) => {
        seen = {
          url: String(url),
          type: String((init?.headers as Record<string, string>)['content-type']),
          body: init?.body as Buffer,
        };
        return new Response('{}', { status: 200 });
      },
    });
    expect(ok).toEqual({ ok: true });
    expect(seen?.url).toBe('http://pacs.test/dicom-web/studies');
    expect(seen?.type).toMatch(/^multipart\/related; type="application\/dicom"; boundary=/);
    expect(seen?.body.includes(Buffer.from(part10))).toBe(true);
    const failed = JSON.stringify({
      '00081198': { vr: 'SQ', Value: [{ '00081155': { vr: 'UI', Value: ['1.2.3'] } }] },
    });
    expect(
      await stowInstance(part10, '1.2.3', {
        baseUrl: 'http://p',
        fetch: async () => new Response(failed, { status: 200 }),
      }),
    ).toEqual({ ok: false, reason: 'instance-failed' });
    expect(
      await stowInstance(part10, '1.2.3', {
        baseUrl: 'http://p',
        fetch: async () => new Response(failed, { status: 202 }),
      }),
    ).toEqual({ ok: false, reason: 'http-202' });
    expect(
      await stowInstance(part10, '1.2.3', {
        baseUrl: 'http://p',
        fetch: async () => {
          throw new TypeError('fetch failed');
        },
      }),
    ).toEqual({ ok: false, reason: 'unreachable' });
  });
});

const instance = (sop: string, series = '1.9.1'): ReceivedInstance => ({
  studyInstanceUid: '1.9',
  seriesInstanceUid: series,
  sopInstanceUid: sop,
  sopClassUid: '1.2.840.10008.5.1.4.1.1.1.1',
  modality: 'DX',
  patientId: 'SYNTH-1',
  issuerOfPatientId: 'HOSP',
  studyDate: '20261203',
  studyTime: '101500',
  studyDescription: 'Chest PA',
});

describe('study completion', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  /** The pending-study record as Postgres keeps it (dimse_pending_instances), on the fake clock. */
  function recordedStudies(failures = 0) {
    const studies = new Map<string, { sops: Set<string>; last: number }>();
    const handed: string[][] = [];
    return {
      handed,
      record(studyUid: string, sop: string, at = Date.now()) {
        const study = studies.get(studyUid) ?? { sops: new Set<string>(), last: at };
        study.sops.add(sop);
        study.last = Math.max(study.last, at);
        studies.set(studyUid, study);
      },
      source: {
        quietFor: async (studyUid: string) => {
          const study = studies.get(studyUid);
          return study ? Date.now() - study.last : undefined;
        },
        complete: async (studyUid: string) => {
          const study = studies.get(studyUid);
          if (!study) return;
          handed.push([...study.sops].sort());
          if (failures-- > 0) throw new Error('EHR down');
          studies.delete(studyUid);
        },
      },
    };
  }

  it('hands a study over once, after it has been quiet, and retries a failed hand-over', async () => {
    vi.useFakeTimers();
    const record = recordedStudies(1);
    const quiet = studyQuietPeriod(1000, record.source);
    record.record('1.9', '1.9.1.1');
    quiet.touch('1.9');
    await vi.advanceTimersByTimeAsync(800);
    record.record('1.9', '1.9.1.2');
    quiet.touch('1.9');
    await vi.advanceTimersByTimeAsync(800);
    expect(record.handed).toEqual([]);
    await vi.advanceTimersByTimeAsync(300);
    expect(record.handed).toEqual([['1.9.1.1', '1.9.1.2']]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(record.handed).toEqual([
      ['1.9.1.1', '1.9.1.2'],
      ['1.9.1.1', '1.9.1.2'],
    ]);
    await vi.advanceTimersByTimeAsync(5000);
    expect(record.handed).toHaveLength(2);
    expect(quiet.pending()).toBe(0);
    quiet.close();
  });

  it('after a restart, hands recorded studies over when what is left of their quiet period has passed', async () => {
    vi.useFakeTimers();
    const record = recordedStudies();
    record.record('1.9', '1.9.1.1', Date.now() - 700);
    record.record('1.8', '1.8.1.1', Date.now() - 5000);
    const quiet = studyQuietPeriod(1000, record.source);
    quiet.restore([
      { studyInstanceUid: '1.9', quietForMs: 700 },
      { studyInstanceUid: '1.8', quietForMs: 5000 },
    ]);
    await vi.advanceTimersByTimeAsync(0);
    expect(record.handed).toEqual([['1.8.1.1']]);
    await vi.advanceTimersByTimeAsync(200);
    expect(record.handed).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(100);
    expect(record.handed).toEqual([['1.8.1.1'], ['1.9.1.1']]);
    quiet.close();
  });

  it('waits for an instance recorded by another process, and does nothing for a study already handed over', async () => {
    vi.useFakeTimers();
    const record = recordedStudies();
    const quiet = studyQuietPeriod(1000, record.source);
    record.record('1.9', '1.9.1.1');
    quiet.touch('1.9');
    await vi.advanceTimersByTimeAsync(600);
    record.record('1.9', '1.9.1.2'); // another intake process; no touch here
    await vi.advanceTimersByTimeAsync(500);
    expect(record.handed).toEqual([]);
    await vi.advanceTimersByTimeAsync(500);
    expect(record.handed).toEqual([['1.9.1.1', '1.9.1.2']]);
    quiet.touch('1.7'); // nothing recorded for 1.7
    await vi.advanceTimersByTimeAsync(2000);
    expect(record.handed).toHaveLength(1);
    expect(quiet.pending()).toBe(0);
    quiet.close();
  });

  it('takes a URI issuer as Identifier.system, maps others, and searches nothing without a system', () => {
    expect(identifierSystem('https://hosp.example/mrn', {})).toBe('https://hosp.example/mrn');
    expect(identifierSystem('HOSP', { HOSP: 'urn:oid:1.2.3' })).toBe('urn:oid:1.2.3');
    expect(identifierSystem('', {})).toBeUndefined();
  });

  it('builds an R4 ImagingStudy with the study UID identifier and one series per Series Instance UID', () => {
    const study = imagingStudyOf(
      [instance('1.9.1.1'), instance('1.9.1.2'), instance('1.9.2.1', '1.9.2')],
      'p1',
    );
    expect(study.identifier).toEqual([{ system: 'urn:dicom:uid', value: 'urn:oid:1.9' }]);
    expect(study.subject).toEqual({ reference: 'Patient/p1' });
    expect(study.started).toBe('2026-12-03T10:15:00Z');
    expect(study.numberOfInstances).toBe(3);
    expect(study.series?.map((s) => [s.uid, s.instance?.length])).toEqual([
      ['1.9.1', 2],
      ['1.9.2', 1],
    ]);
  });
});
