import { describe, expect, it } from 'vitest';
import { loadDcmjs } from '../../../../src/sandbox/cohort/dcmjs-api.js';
import { writePart10 } from '../../../../src/sandbox/cohort/dicom-common.js';
import { readDicom } from './cohort-test-helpers.js';

const dcmjs = loadDcmjs();

describe('explicit VR little endian Part-10 writer', () => {
  it('writes a file dcmjs reads back to the same dataset (strings, numbers, PN, sequences, binary)', () => {
    const samples = Int16Array.from([0, -1, 32767, -32768, 12, 7]);
    const dataset = {
      SOPClassUID: '1.2.840.10008.5.1.4.1.1.9.1.1',
      SOPInstanceUID: '2.25.123',
      SpecificCharacterSet: 'ISO_IR 192',
      PatientName: 'Doe^Jane',
      PatientID: 'ABC',
      ImageType: ['DERIVED', 'PRIMARY'],
      Rows: 3,
      ImagerPixelSpacing: [0.7, 0.7],
      PixelIntensityRelationshipSign: -1,
      WaveformSequence: [
        {
          NumberOfWaveformChannels: 2,
          SamplingFrequency: 500,
          ChannelDefinitionSequence: [
            {
              ChannelLabel: 'I',
              ChannelSourceSequence: [
                { CodeValue: '5.6.3-9-1', CodingSchemeDesignator: 'SCPECG', CodeMeaning: 'Lead I' },
              ],
            },
            { ChannelLabel: 'II' },
          ],
          WaveformData: [samples],
          _vrMap: { WaveformData: 'OW' },
        },
      ],
    };
    const bytes = writePart10(dcmjs, dataset, '1.2.840.10008.1.2.1');
    expect(Buffer.from(bytes.subarray(128, 132)).toString('latin1')).toBe('DICM');
    const { meta, dataset: back } = readDicom(dcmjs, bytes);
    expect(meta.TransferSyntaxUID).toBe('1.2.840.10008.1.2.1');
    expect(meta.MediaStorageSOPInstanceUID).toBe('2.25.123');
    expect(back.SOPInstanceUID).toBe('2.25.123');
    expect((back.PatientName as Array<{ Alphabetic: string }>)[0]?.Alphabetic).toBe('Doe^Jane');
    expect(back.ImageType).toEqual(['DERIVED', 'PRIMARY']);
    expect(back.Rows).toBe(3);
    expect(back.ImagerPixelSpacing).toEqual([0.7, 0.7]);
    expect(back.PixelIntensityRelationshipSign).toBe(-1);
    const group = (back.WaveformSequence as Array<Record<string, unknown>>)[0] ?? {};
    expect(group.NumberOfWaveformChannels).toBe(2);
    const channels = group.ChannelDefinitionSequence as Array<Record<string, unknown>>;
    expect(channels.map((c) => c.ChannelLabel)).toEqual(['I', 'II']);
    expect((channels[0]?.ChannelSourceSequence as Array<Record<string, unknown>>)[0]?.CodeValue).toBe(
      '5.6.3-9-1',
    );
    expect(Array.from(new Int16Array((group.WaveformData as ArrayBuffer[])[0] as ArrayBuffer))).toEqual(
      Array.from(samples),
    );
  });

  it('encapsulates Pixel Data for RLE: one fragment per frame after an empty offset table', () => {
    const frame = Uint8Array.from([1, 2, 3, 4, 5, 6]);
    const bytes = writePart10(
      dcmjs,
      {
        SOPClassUID: '1.2.840.10008.5.1.4.1.1.1',
        SOPInstanceUID: '2.25.9',
        Rows: 1,
        PixelData: [frame],
        _vrMap: { PixelData: 'OB' },
      },
      '1.2.840.10008.1.2.5',
    );
    const { meta, dataset } = readDicom(dcmjs, bytes);
    expect(meta.TransferSyntaxUID).toBe('1.2.840.10008.1.2.5');
    expect(Array.from(new Uint8Array((dataset.PixelData as ArrayBuffer[])[0] as ArrayBuffer))).toEqual([
      1, 2, 3, 4, 5, 6,
    ]);
    // Ends with the Sequence Delimitation Item (FFFE,E0DD) of length 0.
    expect(Array.from(bytes.subarray(bytes.length - 8))).toEqual([0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0]);
  });
});
