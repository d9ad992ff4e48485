import { parseArgs } from 'node:util';
import { loadCohort, prevalenceTable, writeCohort } from '../sandbox/cohort/index.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** One progress line, rewritten in place on a terminal, appended otherwise. */
function progress(label: string, done: number, total: number | undefined, rate: number): void {
  const eta = total && rate > 0 ? ` ETA ${Math.ceil((total - done) / rate)} s` : '';
  const line = `${label} ${done}${total ? `/${total}` : ''} (${rate.toFixed(1)}/s)${eta}`;
  if (process.stdout.isTTY) process.stdout.write(`\r${line}   `);
  else if (done === total || done % 100 === 0) console.log(line);
}

/**
 * `fhir-fusion cohort generate --patients N --seed S --out DIR [--dicomweb URL] [--image-size PX]`
 * writes FHIR NDJSON, DICOM files and ground-truth labels; `fhir-fusion cohort load --dir DIR
 * --fhir URL --dicomweb URL` loads them into ANY FHIR R4 server (transaction Bundles) and DICOMweb
 * server (STOW-RS), e.g. HAPI FHIR and Orthanc. Synthetic data only.
 */
export async function cohortCommand(argv: string[]): Promise<number> {
  const [action, ...rest] = argv;
  const { values } = parseArgs({
    args: rest,
    options: {
      patients: { type: 'string', default: '100' },
      seed: { type: 'string', default: '1' },
      out: { type: 'string' },
      dir: { type: 'string' },
      fhir: { type: 'string' },
      dicomweb: { type: 'string', default: 'http://127.0.0.1:8042/dicom-web' },
      'image-size': { type: 'string', default: '512' },
    },
    strict: true,
  });
  if (action === 'generate' && values.out) {
    const started = Date.now();
    const manifest = await writeCohort(
      values.out,
      {
        patients: Number(values.patients),
        seed: Number(values.seed),
        dicomwebBaseUrl: values.dicomweb ?? '',
        imageSize: Number(values['image-size']),
        now: new Date(),
      },
      (p) => progress('generated', p.done, p.total, p.ratePerSecond),
    );
    if (process.stdout.isTTY) process.stdout.write('\n');
    console.log(`wrote ${values.out} in ${((Date.now() - started) / 1000).toFixed(1)} s: ${JSON.stringify(manifest.counts)}`);
    const labels = readFileSync(join(values.out, 'labels.ndjson'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Parameters<typeof prevalenceTable>[0] extends Iterable<infer L> ? L : never);
    console.log(`\n${prevalenceTable(labels)}`);
    return 0;
  }
  if (action === 'load' && values.dir && values.fhir) {
    const summary = await loadCohort({
      dir: values.dir,
      fhirBaseUrl: values.fhir,
      dicomwebBaseUrl: values.dicomweb ?? '',
      onProgress: (p) => progress(`loaded (${p.phase})`, p.done, p.total, p.ratePerSecond),
    });
    if (process.stdout.isTTY) process.stdout.write('\n');
    console.log(`loaded ${summary.patients} patients, ${summary.resources} resources, ${summary.dicomInstances} DICOM instances in ${summary.seconds.toFixed(1)} s`);
    return 0;
  }
  console.error('usage: fhir-fusion cohort generate --patients N --seed S --out DIR [--dicomweb URL] [--image-size PX]');
  console.error('       fhir-fusion cohort load --dir DIR --fhir URL [--dicomweb URL]');
  return 2;
}
