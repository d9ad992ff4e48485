import type { Observation, Patient, RiskAssessment } from '@medplum/fhirtypes';
import { connect } from 'node:net';
import { beforeAll, describe, expect, it } from 'vitest';
import { HL7V2_RESULT_SYSTEM } from '../../../src/intake/hl7v2/oru-to-fhir.js';
import { renderOruR01 } from '../../../src/sandbox/hl7v2/oru-r01.js';
import { sendOverMllp } from '../../../src/sandbox/hl7v2/mllp-sender.js';
import { pollUntil, useFusionFixture } from '../../helpers/fusion-fixture.js';

const MRN_SYSTEM = 'https://hospital.example.org/fhir/sid/mrn';
const FRAME_TIMEOUT_MS = 800;

/** A lab result as the sandbox cohort holds it (LOINC, UCUM). */
function lab(code: string, display: string, value: number, unit: string, minutesAgo: number): Observation {
  return {
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code, display }] },
    subject: { reference: 'Patient/unused' },
    effectiveDateTime: new Date(Date.now() - minutesAgo * 60_000).toISOString(),
    valueQuantity: { value, unit, system: 'http://unitsofmeasure.org', code: unit },
  };
}

/** Sends raw bytes on a new connection; resolves with what came back and whether it was closed. */
function rawExchange(
  port: number,
  chunks: Buffer[],
  options: { gapMs?: number; waitMs?: number } = {},
): Promise<{ reply: string; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    let closed = false;
    socket.on('data', (d) => (reply += d.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      closed = true;
    });
    socket.on('connect', async () => {
      for (const chunk of chunks) {
        if (socket.destroyed) break;
        socket.write(chunk);
        if (options.gapMs) await new Promise((r) => setTimeout(r, options.gapMs));
      }
      setTimeout(() => {
        socket.destroy();
        resolve({ reply, closed });
      }, options.waitMs ?? 1000);
    });
  });
}

const frame = (text: string): Buffer =>
  Buffer.concat([Buffer.from([0x0b]), Buffer.from(text, 'utf8'), Buffer.from([0x1c, 0x0d])]);
const segmentsOf = (ack: string): string[] =>
  ack
    .replaceAll('\u000b', '')
    .replaceAll('\u001c', '')
    .split(/\r\n?|\n/)
    .filter(Boolean);

describe('HL7 v2 door: ORU^R01 over MLLP → inbox → job → RiskAssessment in the sandbox EHR', () => {
  let patient: Patient;
  let port: number;
  const fixture = useFusionFixture({
    // No FHIR subscriptions: the assessment below can only come from the HL7 v2 door.
    subscribe: false,
    config: () => ({
      HL7_MLLP_PORT: '0',
      HL7_FRAME_TIMEOUT_MS: String(FRAME_TIMEOUT_MS),
      HL7_MAX_MESSAGE_BYTES: String(1_048_576),
    }),
    seed: async (client) => {
      patient = await client.createResource<Patient>({
        resourceType: 'Patient',
        identifier: [{ system: MRN_SYSTEM, value: 'MRN-0042' }],
        gender: 'male',
        birthDate: '1948-05-06',
      });
    },
  });

  beforeAll(() => {
    port = fixture().server.server.hl7v2?.port ?? 0;
    expect(port).toBeGreaterThan(0);
  });

  const message = (controlId: string, identifierValue = 'MRN-0042'): string =>
    renderOruR01({
      controlId,
      patientIdentifier: { system: MRN_SYSTEM, value: identifierValue },
      observations: [
        lab('6690-2', 'Leukocytes', 17.2, '10*3/uL', 30),
        lab('1988-5', 'C reactive protein', 142, 'mg/L', 30),
        lab('2160-0', 'Creatinine', 1.9, 'mg/dL', 25),
        lab('8867-4', 'Heart rate', 121, '/min', 20),
      ],
    });

  it('answers AA only once the message is in the inbox, writes the results as FHIR and assesses the patient', async () => {
    const { client, pool } = fixture();
    const [ack] = await sendOverMllp({ host: '127.0.0.1', port }, [message('LAB-0001')]);
    expect(ack?.code).toBe('AA');
    // The ACK came after the commit: the row and its job are there the moment the ACK is.
    const { rows } = await pool.query<{ dialect: string; patient_id: string }>(
      "SELECT dialect, patient_id FROM notification_inbox WHERE dialect = 'hl7v2'",
    );
    expect(rows).toEqual([{ dialect: 'hl7v2', patient_id: patient.id }]);

    const written = await client.searchResources('Observation', {
      identifier: `${HL7V2_RESULT_SYSTEM}|`,
      subject: `Patient/${patient.id}`,
    });
    expect(written).toHaveLength(4);
    const assessment = await pollUntil(
      async () => (await client.searchResources('RiskAssessment', { subject: `Patient/${patient.id}` }))[0],
      'a RiskAssessment from the HL7 v2 results',
      { timeoutMs: 90_000 },
    );
    const basis = ((assessment as RiskAssessment).basis ?? []).map((b) =>
      b.reference?.replace(/\/_history\/.*$/, ''),
    );
    for (const observation of written) expect(basis).toContain(`Observation/${observation.id}`);
  }, 120_000);

  it('is idempotent for a resent MSH-10: AA again, one inbox row, no duplicate Observations', async () => {
    const { client, pool } = fixture();
    const acks = await sendOverMllp({ host: '127.0.0.1', port }, [message('LAB-0001'), message('LAB-0001')]);
    expect(acks.map((a) => a.code)).toEqual(['AA', 'AA']);
    const { rows } = await pool.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM notification_inbox WHERE dialect = 'hl7v2'",
    );
    expect(rows[0]?.n).toBe(1);
    expect(
      await client.searchResources('Observation', {
        identifier: `${HL7V2_RESULT_SYSTEM}|`,
        subject: `Patient/${patient.id}`,
      }),
    ).toHaveLength(4);
  });

  it('loses nothing when the process died after the EHR write and before the inbox commit: the resend matches what was written', async () => {
    const { client, pool } = fixture();
    const [first] = await sendOverMllp({ host: '127.0.0.1', port }, [message('LAB-0002')]);
    expect(first?.code).toBe('AA');
    const before = await client.searchResources('Observation', {
      identifier: `${HL7V2_RESULT_SYSTEM}|`,
      subject: `Patient/${patient.id}`,
    });
    // As if the inbox transaction never committed (kill -9 between the EHR write and the commit).
    const deleted = await pool.query(
      "DELETE FROM notification_inbox WHERE dialect = 'hl7v2' AND id = (SELECT max(id) FROM notification_inbox WHERE dialect = 'hl7v2')",
    );
    expect(deleted.rowCount).toBe(1);
    const [again] = await sendOverMllp({ host: '127.0.0.1', port }, [message('LAB-0002')]);
    expect(again?.code).toBe('AA');
    const after = await client.searchResources('Observation', {
      identifier: `${HL7V2_RESULT_SYSTEM}|`,
      subject: `Patient/${patient.id}`,
    });
    expect(after.map((o) => o.id).sort()).toEqual(before.map((o) => o.id).sort());
    const { rows } = await pool.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM notification_inbox WHERE dialect = 'hl7v2'",
    );
    expect(rows[0]?.n).toBe(2);
  });

  it('answers AE with ERR on PID-3 for an unknown patient and stores nothing', async () => {
    const { pool } = fixture();
    const [ack] = await sendOverMllp({ host: '127.0.0.1', port }, [message('LAB-0003', 'MRN-NOBODY')]);
    expect(ack?.code).toBe('AE');
    const err = segmentsOf(ack?.text ?? '').find((s) => s.startsWith('ERR|'));
    expect(err).toMatch(/^ERR\|\|PID\^1\^3\^*\|204\^Unknown key identifier\^HL70357\|E/);
    const { rows } = await pool.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM notification_inbox WHERE dialect = 'hl7v2'",
    );
    expect(rows[0]?.n).toBe(2);
  });

  it('answers AR for a message type it does not take, and AE naming OBX-5 for a non-number in an NM result', async () => {
    const adt =
      'MSH|^~\\&|ADT|H|FHIR-FUSION|H|20260101000000||ADT^A01^ADT_A01|ADT-1|P|2.5.1\rPID|1||MRN-0042^^^X&https://hospital.example.org/fhir/sid/mrn&URI';
    const badNumber = message('LAB-0004').replace(
      '|NM|6690-2^Leukocytes^LN||17.2|',
      '|NM|6690-2^Leukocytes^LN||high|',
    );
    const acks = await sendOverMllp({ host: '127.0.0.1', port }, [adt, badNumber]);
    expect(acks.map((a) => a.code)).toEqual(['AR', 'AE']);
    expect(segmentsOf(acks[0]!.text).find((s) => s.startsWith('ERR|'))).toContain(
      '|200^Unsupported message type^HL70357|E',
    );
    expect(segmentsOf(acks[1]!.text).find((s) => s.startsWith('ERR|'))).toMatch(
      /^ERR\|\|OBX\^1\^5\^*\|102\^Data type error/,
    );
  });

  it('answers AR (not a crash) to a frame without MSH, and to separators that are not distinct', async () => {
    const noMsh = await rawExchange(port, [frame('PID|1||x\rOBX|1|NM|1^a^LN||1')]);
    expect(noMsh.reply).toContain('MSA|AR|');
    expect(noMsh.reply).toContain('|100^Segment sequence error^HL70357|E');
    const separators = await rawExchange(port, [frame('MSH||||A|B|C|D|20260101||ORU^R01|X1|P|2.5')]);
    expect(separators.reply).toContain('MSA|AR|');
  });

  it('closes connections that break MLLP (bytes outside a frame, a frame over the limit, a frame never ended in time) and keeps serving', async () => {
    const outside = await rawExchange(port, [Buffer.from('GET / HTTP/1.1\r\n\r\n')], { waitMs: 300 });
    expect(outside).toEqual({ reply: '', closed: true });

    // 10 MB in 64 KiB writes against a 1 MiB limit: cut off once the limit is passed, never buffered whole.
    const big = Buffer.alloc(64 * 1024, 0x41);
    const huge = await rawExchange(
      port,
      [Buffer.from([0x0b]), Buffer.from('MSH|^~\\&|'), ...Array.from({ length: 160 }, () => big)],
      { waitMs: 1500 },
    );
    expect(huge.closed).toBe(true);
    expect(huge.reply).toBe('');

    // Slow loris: one byte every 100 ms, each resetting any idle timer; the frame deadline still ends it.
    const start = Date.now();
    const loris = await rawExchange(
      port,
      [Buffer.from([0x0b]), ...Array.from({ length: 40 }, () => Buffer.from('M'))],
      { gapMs: 100, waitMs: 200 },
    );
    expect(loris.closed).toBe(true);
    expect(Date.now() - start).toBeLessThan(40 * 100 + 1000);

    const { metrics } = fixture().runtime;
    const rejected = await metrics.registry.getSingleMetricAsString(
      'fhir_fusion_notifications_rejected_total',
    );
    for (const reason of ['hl7v2-bytes-outside-frame', 'hl7v2-frame-too-large', 'hl7v2-frame-timeout'])
      expect(rejected).toContain(`reason="${reason}"`);

    const [ack] = await sendOverMllp({ host: '127.0.0.1', port }, [message('LAB-0005')]);
    expect(ack?.code).toBe('AA');
  }, 30_000);
});
