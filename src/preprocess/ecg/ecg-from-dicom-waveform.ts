import { fail, ok, type PreprocessResult } from '../result.js';
import { binaryAt, loadDcmjs, numberAt, readDicomDataset, sequenceAt, stringAt, type DicomDataset, type LibraryMessageSink } from '../imaging/dicom-dataset.js';
import { normaliseToPart10 } from '../imaging/part10-normalise.js';
import { createUcumConverter, type UnitConverter } from '../tabular/unit-conversion.js';
import { leadFromCode, normaliseLeadName, type EcgLeads } from './ecg-leads.js';

/** Waveform module tags (PS3.3 C.10.9 Waveform Module). */
const Tag = {
  waveformSequence: '54000100',
  numberOfChannels: '003A0005',
  numberOfSamples: '003A0010',
  samplingFrequency: '003A001A',
  multiplexGroupLabel: '003A0020',
  channelDefinitionSequence: '003A0200',
  channelLabel: '003A0203',
  channelSourceSequence: '003A0208',
  channelSensitivity: '003A0210',
  channelSensitivityUnits: '003A0211',
  channelSensitivityCorrection: '003A0212',
  channelBaseline: '003A0213',
  bitsAllocated: '54001004',
  sampleInterpretation: '54001006',
  waveformData: '54001010',
  codeValue: '00080100',
  codingScheme: '00080102',
  codeMeaning: '00080104',
} as const;

/** Options for {@link ecgFromDicomWaveform}. */
export interface DicomWaveformOptions {
  /** Unit converter for Channel Sensitivity Units → mV; defaults to UCUM. */
  convertUnit?: UnitConverter;
  /** Upper bound on samples per channel (default 10 minutes at 2 kHz). */
  maxSamples?: number;
  /** Receives what dcmjs would have printed (never the console). */
  onLibraryMessage?: LibraryMessageSink;
}

function channelLead(channel: DicomDataset): string | undefined {
  const source = sequenceAt(channel, Tag.channelSourceSequence)[0];
  if (source) {
    const byCode = leadFromCode(stringAt(source, Tag.codingScheme), stringAt(source, Tag.codeValue));
    if (byCode) return byCode;
    const meaning = stringAt(source, Tag.codeMeaning);
    if (meaning && normaliseLeadName(meaning)) return normaliseLeadName(meaning);
  }
  const label = stringAt(channel, Tag.channelLabel);
  return label ? normaliseLeadName(label) : undefined;
}

function pickGroup(groups: DicomDataset[]): DicomDataset | undefined {
  // A 12-lead file may carry a rhythm group and a derived median-beat group; the rhythm is the signal.
  return groups.find((g) => stringAt(g, Tag.multiplexGroupLabel)?.toUpperCase() === 'RHYTHM') ?? groups[0];
}

/**
 * Reads a DICOM 12-lead ECG (PS3.3 A.34.3, Waveform Module C.10.9) into named leads in mV. Uses
 * the RHYTHM multiplex group (else the first); samples are multiplexed — channel c of sample t at
 * index t × channels + c (C.10.9.1.3); each channel's value is (sample + Channel Baseline) ×
 * Channel Sensitivity × Sensitivity Correction Factor in Channel Sensitivity Units (pydicom's
 * reading of C.10.9.1.4.3), then converted to mV via UCUM. Never throws.
 */
export function ecgFromDicomWaveform(bytes: Uint8Array, options: DicomWaveformOptions = {}): PreprocessResult<EcgLeads> {
  try {
    return read(bytes, options);
  } catch {
    return fail('failed-to-decode', 'DICOM waveform could not be decoded');
  }
}

function read(bytes: Uint8Array, options: DicomWaveformOptions): PreprocessResult<EcgLeads> {
  const convertUnit = options.convertUnit ?? createUcumConverter();
  const maxSamples = options.maxSamples ?? 2000 * 600;
  const part10 = normaliseToPart10(bytes, { maxInflatedBytes: 256 * 1024 * 1024 });
  if (!part10.ok) return part10;
  const parsed = readDicomDataset(part10.value.buffer, loadDcmjs(), options.onLibraryMessage);
  if (!parsed.ok) return parsed;
  const group = pickGroup(sequenceAt(parsed.value, Tag.waveformSequence));
  if (!group) return fail('unsupported-format', 'no WaveformSequence (5400,0100)');
  const channels = numberAt(group, Tag.numberOfChannels);
  const samples = numberAt(group, Tag.numberOfSamples);
  const fs = numberAt(group, Tag.samplingFrequency);
  if (!channels || !samples || !fs || fs <= 0) return fail('invalid-value', 'NumberOfWaveformChannels, NumberOfWaveformSamples or SamplingFrequency missing');
  if (samples > maxSamples) return fail('unsupported-format', `${samples} samples per channel exceeds the ${maxSamples} limit`);
  const bits = numberAt(group, Tag.bitsAllocated);
  const interpretation = stringAt(group, Tag.sampleInterpretation) ?? 'SS';
  const readers: Record<string, { bytes: number; read: (v: DataView, o: number) => number }> = {
    SS: { bytes: 2, read: (v, o) => v.getInt16(o, true) },
    US: { bytes: 2, read: (v, o) => v.getUint16(o, true) },
    SB: { bytes: 1, read: (v, o) => v.getInt8(o) },
    UB: { bytes: 1, read: (v, o) => v.getUint8(o) },
  };
  const reader = readers[interpretation];
  if (!reader || (bits !== undefined && bits !== reader.bytes * 8)) return fail('unsupported-format', `WaveformSampleInterpretation ${interpretation} with ${bits ?? '?'} bits`);
  const data = binaryAt(group, Tag.waveformData)[0];
  if (!data || data.byteLength < channels * samples * reader.bytes) return fail('invalid-value', 'WaveformData shorter than channels × samples');
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const definitions = sequenceAt(group, Tag.channelDefinitionSequence);
  const leads: Record<string, Float64Array> = {};
  for (let c = 0; c < Math.min(channels, definitions.length); c++) {
    const def = definitions[c]!;
    const lead = channelLead(def);
    if (!lead || leads[lead]) continue;
    const sensitivity = numberAt(def, Tag.channelSensitivity) ?? 1;
    const correction = numberAt(def, Tag.channelSensitivityCorrection) ?? 1;
    const baseline = numberAt(def, Tag.channelBaseline) ?? 0;
    const unitItem = sequenceAt(def, Tag.channelSensitivityUnits)[0];
    const unit = unitItem ? stringAt(unitItem, Tag.codeValue) : undefined;
    const toMv = convertUnit(1, unit ?? 'uV', 'mV');
    if (toMv === undefined) return fail('unsupported-format', `channel ${c + 1} units are not a voltage`);
    const scale = sensitivity * correction * toMv;
    const out = new Float64Array(samples);
    for (let t = 0; t < samples; t++) out[t] = (reader.read(view, (t * channels + c) * reader.bytes) + baseline) * scale;
    leads[lead] = out;
  }
  if (Object.keys(leads).length === 0) return fail('unsupported-format', 'no channel is a recognised ECG lead');
  return ok({ sampleRateHz: fs, leads });
}
