// The sandbox EHR in its own process for the benchmarks of issue 26 (`fhir-fusion sandbox`, which
// prints its URLs on one line once loaded), or any EHR given by --ehr / --dicomweb: either way the
// benchmark's process holds fhir-fusion only, so its process.cpuUsage() is fhir-fusion's.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** Where the EHR is, and how to stop it when the benchmark started it. */
export interface BenchEhr {
  fhir: string;
  dicomweb: string;
  /** `sandbox in a child process` or `external (URL)`, for the printed table. */
  description: string;
  stop: () => void;
}

/** Starts `fhir-fusion sandbox` with `patients` synthetic patients (all four modalities) as a child process. */
export async function startChildEhr(patients: number, seed = 3): Promise<BenchEhr> {
  const cli = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'cli', 'index.ts');
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      cli,
      'sandbox',
      '--port',
      '0',
      '--patients',
      String(patients),
      '--seed',
      String(seed),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: child.stdout });
  for await (const line of lines) {
    const m = /FHIR_BASE_URL=(\S+) DICOMWEB_BASE_URL=(\S+)/.exec(line);
    if (m?.[1] && m[2]) {
      return {
        fhir: m[1],
        dicomweb: m[2],
        description: 'sandbox in a child process',
        stop: () => child.kill('SIGTERM'),
      };
    }
  }
  throw new Error('sandbox EHR child exited before printing its URLs');
}

/** The EHR named on the command line, else a child-process sandbox with `patients` patients. */
export async function benchEhr(
  values: { ehr?: string | undefined; dicomweb?: string | undefined },
  patients: number,
): Promise<BenchEhr> {
  if (!values.ehr) return startChildEhr(patients);
  return {
    fhir: values.ehr,
    dicomweb: values.dicomweb ?? `${new URL(values.ehr).origin}/dicomweb`,
    description: `external (${values.ehr})`,
    stop: () => undefined,
  };
}
