import type { DcmjsData } from './dcmjs-api.js';
import { TransferSyntax } from './dcmjs-api.js';
import type { DicomPatientStudy } from './dicom-common.js';
import { dicomDateTime, patientStudyAttributes, writePart10 } from './dicom-common.js';
import type { EcgLeadName, EcgRecording } from './ecg-signal.js';
import { ecgLeadNames } from './ecg-signal.js';

/** 12-Lead ECG Waveform Storage SOP class (PS3.4 Annex B.5). */
export const twelveLeadEcgSopClass = '1.2.840.10008.5.1.4.1.1.9.1.1';

/** SCP-ECG lead codes of CID 3001 "ECG Leads" (PS3.16), the scheme 12-lead IODs use. */
export const scpEcgLeadCodes: Record<EcgLeadName, { code: string; meaning: string }> = {
  I: { code: '5.6.3-9-1', meaning: 'Lead I' },
  II: { code: '5.6.3-9-2', meaning: 'Lead II' },
  III: { code: '5.6.3-9-61', meaning: 'Lead III' },
  aVR: { code: '5.6.3-9-62', meaning: 'aVR, augmented voltage, right' },
  aVL: { code: '5.6.3-9-63', meaning: 'aVL, augmented voltage, left' },
  aVF: { code: '5.6.3-9-64', meaning: 'aVF, augmented voltage, foot' },
  V1: { code: '5.6.3-9-3', meaning: 'Lead V1' },
  V2: { code: '5.6.3-9-4', meaning: 'Lead V2' },
  V3: { code: '5.6.3-9-5', meaning: 'Lead V3' },
  V4: { code: '5.6.3-9-6', meaning: 'Lead V4' },
  V5: { code: '5.6.3-9-7', meaning: 'Lead V5' },
  V6: { code: '5.6.3-9-8', meaning: 'Lead V6' },
};

/**
 * Writes the recording as a DICOM 12-Lead ECG Waveform (PS3.3 A.34.3): one multiplex group of 12
 * channels, 16-bit signed samples interleaved by sample (PS3.3 C.10.9.1.5), sensitivity 1 µV per
 * unit (UCUM "uV"), explicit VR little endian.
 */
export function encodeEcgWaveformDicom(
  dcmjs: DcmjsData,
  ecg: EcgRecording,
  p: DicomPatientStudy,
): Uint8Array {
  const channels = ecg.leadsMicrovolts.length;
  const n = ecg.samplesPerLead;
  const interleaved = new Int16Array(n * channels);
  for (let c = 0; c < channels; c++) {
    const lead = ecg.leadsMicrovolts[c] as Int16Array;
    for (let s = 0; s < n; s++) interleaved[s * channels + c] = lead[s] as number;
  }
  const { date, time } = dicomDateTime(p.acquired);
  const dataset = {
    ...patientStudyAttributes(p, twelveLeadEcgSopClass, 'ECG', 1),
    SeriesDescription: 'Resting 12-lead ECG',
    AcquisitionDateTime: `${date}${time}`,
    // Acquisition Context Module (PS3.3 C.7.6.14): type 2, present and empty.
    AcquisitionContextSequence: [],
    WaveformSequence: [
      {
        MultiplexGroupTimeOffset: 0,
        WaveformOriginality: 'ORIGINAL',
        NumberOfWaveformChannels: channels,
        NumberOfWaveformSamples: n,
        SamplingFrequency: ecg.sampleRateHz,
        MultiplexGroupLabel: 'RHYTHM',
        ChannelDefinitionSequence: ecgLeadNames.slice(0, channels).map((lead, i) => ({
          WaveformChannelNumber: i + 1,
          ChannelLabel: lead,
          ChannelSourceSequence: [
            {
              CodeValue: scpEcgLeadCodes[lead].code,
              CodingSchemeDesignator: 'SCPECG',
              CodingSchemeVersion: '1.3',
              CodeMeaning: scpEcgLeadCodes[lead].meaning,
            },
          ],
          ChannelSensitivity: 1,
          ChannelSensitivityUnitsSequence: [
            { CodeValue: 'uV', CodingSchemeDesignator: 'UCUM', CodeMeaning: 'microvolt' },
          ],
          ChannelSensitivityCorrectionFactor: 1,
          ChannelBaseline: 0,
          ChannelTimeSkew: 0,
          WaveformBitsStored: 16,
          FilterLowFrequency: 0.05,
          FilterHighFrequency: 150,
        })),
        WaveformBitsAllocated: 16,
        WaveformSampleInterpretation: 'SS',
        WaveformData: [interleaved],
        _vrMap: { WaveformData: 'OW' },
      },
    ],
  };
  return writePart10(dcmjs, dataset, TransferSyntax.explicitVrLittleEndian);
}
