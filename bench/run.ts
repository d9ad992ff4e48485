// `npm run bench -- <name> [args...]`: runs one benchmark script in its own process (so one
// benchmark's heap and worker threads never skew another's numbers); no name lists them.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** Benchmark name → script under bench/ and what it measures. */
const BENCHMARKS: Record<string, { file: string; what: string; args?: string[] }> = {
  cohort: { file: 'cohort-generate.ts', what: 'synthetic cohort generation: patients/s for N patients with all modalities' },
  preprocess: { file: 'preprocess.ts', what: 'per-modality preprocessing time per patient; 2000×2000 radiograph → 224×224' },
  inference: { file: 'inference.ts', what: 'ONNX floor vs the batched worker-thread engine; event-loop delay' },
  'end-to-end': {
    file: 'cpu-per-patient.ts',
    args: ['--no-stage-clock'],
    what: 'notifications/s into the server → RiskAssessments in the EHR (sandbox child process or --ehr URL): patients/s, p50/p95, event loop, RSS',
  },
  assembly: { file: 'assembly.ts', what: 'FHIR round trips per patient vs one request per resource type' },
  'cds-hooks': { file: 'cds-hooks.ts', what: 'CDS Hooks patient-view latency for a patient with an assessment' },
  backfill: { file: 'backfill.ts', what: 'Bulk Data backfill patients/s' },
  validation: { file: 'validation.ts', what: 'write-back profile validation CPU ms per bundle, and the share medplum spends re-parsing profiles' },
  'tensor-cache': { file: 'tensor-cache.ts', what: 'preprocessing ms per patient with the preprocessed-tensor cache off, cold and warm' },
  'cpu-per-patient': { file: 'cpu-per-patient.ts', what: "fhir-fusion's own CPU ms per assessed patient (EHR in a child process), stage times, targets" },
  'similar-cases': { file: 'similar-cases.ts', what: 'similar-case query latency at 10k and 100k indexed cases' },
  hl7v2: { file: 'hl7v2-intake.ts', what: 'HL7 v2 ORU^R01 over MLLP: messages/s and ACK latency (intake role, sandbox EHR)' },
};

const [name, ...args] = process.argv.slice(2);
const available = Object.entries(BENCHMARKS).filter(([, b]) => existsSync(join(here, b.file)));
const bench = name ? BENCHMARKS[name] : undefined;
if (!bench || !existsSync(join(here, bench.file))) {
  console.log('usage: npm run bench -- <name> [args...]\n');
  for (const [key, b] of available) console.log(`  ${key.padEnd(14)} ${b.what}`);
  process.exit(name ? 2 : 0);
}
const result = spawnSync(process.execPath, ['--import', 'tsx', join(here, bench.file), ...(bench.args ?? []), ...args], {
  stdio: 'inherit',
});
process.exit(result.status ?? 1);
