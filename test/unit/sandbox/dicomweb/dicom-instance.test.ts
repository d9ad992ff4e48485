import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createDcmjsReader } from '../../../../src/sandbox/dicomweb/dcmjs-reader.js';
import { parsePart10Instance } from '../../../../src/sandbox/dicomweb/dicom-instance.js';
import { thirdPartyFixture } from '../../../helpers/fixtures.js';
import { generateDicom } from './generated-dicom.js';

const reader = createDcmjsReader();

describe('parsePart10Instance', () => {
  it('indexes UIDs, keeps the bytes and splits native frames', () => {
    const generated = generateDicom({
      studyInstanceUid: '2.25.1',
      seriesInstanceUid: '2.25.1.1',
      sopInstanceUid: '2.25.1.1.1',
      patientId: 'X',
      modality: 'OT',
      frames: 2,
    });
    const parsed = parsePart10Instance(generated.bytes, reader);
    if (!parsed.ok) throw new Error(parsed.message);
    expect(parsed.value).toMatchObject({
      studyInstanceUid: '2.25.1',
      seriesInstanceUid: '2.25.1.1',
      sopInstanceUid: '2.25.1.1.1',
      transferSyntaxUid: '1.2.840.10008.1.2.1',
    });
    expect(parsed.value.bytes).toBe(generated.bytes);
    expect(parsed.value.frames?.map((f) => f.toString('hex'))).toEqual(
      generated.frames.map((f) => f.toString('hex')),
    );
    expect(parsed.value.frameMediaType).toBe('application/octet-stream');
    // File Meta is not part of the dataset (PS3.10 §7.1) and binary attributes carry no inline value.
    expect(Object.keys(parsed.value.dataset).some((tag) => tag.startsWith('0002'))).toBe(false);
    expect(parsed.value.dataset['7FE00010']).toEqual({ vr: 'OW' });
  });

  it('reads the real JPEG 2000 CR as one image/jp2 frame', () => {
    const parsed = parsePart10Instance(readFileSync(thirdPartyFixture('dicom', 'RG1_J2KI.dcm')), reader);
    if (!parsed.ok) throw new Error(parsed.message);
    expect(parsed.value.transferSyntaxUid).toBe('1.2.840.10008.1.2.4.91');
    expect(parsed.value.frames).toHaveLength(1);
    expect(parsed.value.frameMediaType).toBe('image/jp2');
    expect(parsed.value.dataset['00080060']?.Value).toEqual(['CR']);
  });

  it('keeps waveform instances without frames and reports unreadable payloads as 0xC000', () => {
    const ecg = parsePart10Instance(readFileSync(thirdPartyFixture('dicom', 'ecg_12_lead_anon.dcm')), reader);
    expect(ecg.ok && ecg.value.frames).toBeUndefined();
    const raw = parsePart10Instance(readFileSync(thirdPartyFixture('dicom', 'CR-MONO1-10-chest.dcm')), reader);
    expect(raw).toMatchObject({ ok: false, failureReason: 0xc000 });
    expect(parsePart10Instance(Buffer.from('nope'), reader)).toMatchObject({
      ok: false,
      failureReason: 0xc000,
    });
  });
});
