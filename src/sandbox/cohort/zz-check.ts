import { generateCohort } from './generate-patient.js';
import { loadDcmjs } from './dcmjs-api.js';
const dcmjs = loadDcmjs();
for (const p of generateCohort({ patients: 6, seed: 3, now: new Date('2026-01-01T00:00:00Z'), dicomwebBaseUrl: 'http://x/dicomweb' })) {
  for (const d of p.dicom) {
    const f = dcmjs.DicomMessage.readFile(d.bytes.buffer.slice(d.bytes.byteOffset, d.bytes.byteOffset + d.bytes.byteLength) as ArrayBuffer);
    const n = dcmjs.DicomMetaDictionary.naturalizeDataset(f.dict) as any;
    console.log(d.kind, d.bytes.length, f.meta['00020010']?.Value, n.PhotometricInterpretation, n.BitsStored, n.PatientName, n.WaveformSequence?.[0]?.ChannelDefinitionSequence?.length, n.WaveformSequence?.[0]?.WaveformData?.[0]?.byteLength, n.PixelData?.[0]?.byteLength);
  }
}
