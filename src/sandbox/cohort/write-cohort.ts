import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import type { WriteStream } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import type { CohortOptions } from './cohort-options.js';
import { resolveCohortOptions } from './cohort-options.js';
import type { CohortLabel } from './generate-patient.js';
import { generateCohort } from './generate-patient.js';
import { prevalenceTable } from './prevalence-table.js';

/** Progress of a long cohort operation. */
export interface CohortProgress {
  done: number;
  total: number;
  /** Patients per second since the start. */
  ratePerSecond: number;
}

/** What `writeCohort` wrote. */
export interface CohortManifest {
  generator: 'fhir-fusion synthetic cohort';
  options: {
    patients: number;
    seed: number;
    now: string;
    dicomwebBaseUrl: string;
    imageSize: number;
    labelsOnly: boolean;
    rates: object;
    prevalence: object;
  };
  counts: {
    patients: number;
    resources: Record<string, number>;
    dicom: Record<string, number>;
    labels: Record<string, number>;
  };
}

async function writeLine(stream: WriteStream, line: string): Promise<void> {
  if (!stream.write(line)) await once(stream, 'drain');
}

/**
 * Writes a cohort to `dir`: `fhir/<ResourceType>.ndjson` (FHIR Bulk Data NDJSON, one resource per
 * line; the shared `Endpoint` once), `dicom/<SOPInstanceUID>.dcm`, `labels.ndjson` (ground truth,
 * kept apart from FHIR) and `cohort.json` (resolved options, counts and the prevalence table).
 */
export async function writeCohort(
  dir: string,
  options: CohortOptions,
  onProgress?: (p: CohortProgress) => void,
): Promise<CohortManifest> {
  const opts = resolveCohortOptions(options);
  mkdirSync(join(dir, 'fhir'), { recursive: true });
  mkdirSync(join(dir, 'dicom'), { recursive: true });
  const streams = new Map<string, WriteStream>();
  const resourceCounts: Record<string, number> = {};
  const dicomCounts: Record<string, number> = {};
  const written = new Set<string>();
  const labels: CohortLabel[] = [];
  const labelStream = createWriteStream(join(dir, 'labels.ndjson'));
  const started = performance.now();
  let done = 0;
  try {
    for (const patient of generateCohort({ ...opts, now: opts.now })) {
      for (const resource of patient.resources) {
        const key = `${resource.resourceType}/${resource.id ?? ''}`;
        // The Endpoint is shared by every patient; write it once.
        if (written.has(key) && resource.resourceType === 'Endpoint') continue;
        written.add(key);
        let stream = streams.get(resource.resourceType);
        if (!stream) {
          stream = createWriteStream(join(dir, 'fhir', `${resource.resourceType}.ndjson`));
          streams.set(resource.resourceType, stream);
        }
        await writeLine(stream, `${JSON.stringify(resource)}\n`);
        resourceCounts[resource.resourceType] = (resourceCounts[resource.resourceType] ?? 0) + 1;
      }
      for (const instance of patient.dicom) {
        writeFileSync(join(dir, 'dicom', `${instance.sopInstanceUid}.dcm`), instance.bytes);
        dicomCounts[instance.kind] = (dicomCounts[instance.kind] ?? 0) + 1;
      }
      labels.push(patient.labels);
      await writeLine(labelStream, `${JSON.stringify(patient.labels)}\n`);
      done++;
      onProgress?.({
        done,
        total: opts.patients,
        ratePerSecond: done / Math.max(1e-3, (performance.now() - started) / 1000),
      });
    }
  } finally {
    const closing = [...streams.values(), labelStream].map(async (s) => {
      s.end();
      await once(s, 'close');
    });
    await Promise.all(closing);
  }
  const conditionCounts: Record<string, number> = {
    acuteHeartFailure: 0,
    pneumonia: 0,
    atrialFibrillation: 0,
  };
  for (const l of labels)
    for (const [k, v] of Object.entries(l.conditions))
      if (v) conditionCounts[k] = (conditionCounts[k] ?? 0) + 1;
  const manifest: CohortManifest = {
    generator: 'fhir-fusion synthetic cohort',
    options: {
      patients: opts.patients,
      seed: opts.seed,
      now: opts.now.toISOString(),
      dicomwebBaseUrl: opts.dicomwebBaseUrl,
      imageSize: opts.imageSize,
      labelsOnly: opts.labelsOnly,
      rates: opts.rates,
      prevalence: opts.prevalence,
    },
    counts: { patients: done, resources: resourceCounts, dicom: dicomCounts, labels: conditionCounts },
  };
  writeFileSync(
    join(dir, 'cohort.json'),
    `${JSON.stringify({ ...manifest, prevalenceTable: prevalenceTable(labels) }, null, 2)}\n`,
  );
  return manifest;
}
