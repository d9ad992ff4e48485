import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts } from './free-port.js';

/** A running Orthanc with its DICOMweb plugin, started for one test file. */
export interface RunningOrthanc {
  /** DICOMweb service root without trailing slash, e.g. `http://127.0.0.1:40123/dicom-web`. */
  dicomwebBaseUrl: string;
  /** Orthanc's own REST API root, e.g. `http://127.0.0.1:40123` (for `/instances` counts). */
  restUrl: string;
  /** Stops Orthanc and deletes its storage. */
  stop(): Promise<void>;
}

const ORTHANC_BINARY = '/usr/sbin/Orthanc';
// Debian's orthanc-dicomweb installs the plugin here (`dpkg -L orthanc-dicomweb`).
const DICOMWEB_PLUGIN = '/usr/share/orthanc/plugins/libOrthancDicomWeb.so';


/**
 * Starts Debian's Orthanc (packages `orthanc`, `orthanc-dicomweb`) on free loopback ports with a
 * temporary storage folder, DICOMweb enabled, remote access and authentication off, and waits
 * until `/dicom-web/studies` answers. Throws a clear error when Orthanc is not installed.
 */
export async function startOrthanc(timeoutMs = 30_000): Promise<RunningOrthanc> {
  if (!existsSync(ORTHANC_BINARY) || !existsSync(DICOMWEB_PLUGIN)) {
    throw new Error(
      `Orthanc is not installed (${ORTHANC_BINARY}, ${DICOMWEB_PLUGIN}); install the Debian packages: apt-get install orthanc orthanc-dicomweb`,
    );
  }
  const dir = await mkdtemp(join(tmpdir(), 'fhir-fusion-orthanc-'));
  const [httpPort = 0, dicomPort = 0] = await freePorts(2);
  const config = {
    Name: 'fhir-fusion-test',
    StorageDirectory: join(dir, 'storage'),
    IndexDirectory: join(dir, 'storage'),
    HttpPort: httpPort,
    DicomPort: dicomPort,
    DicomAet: 'FHIRFUSIONTEST',
    RemoteAccessAllowed: false,
    AuthenticationEnabled: false,
    HttpsCACertificates: '',
    Plugins: [DICOMWEB_PLUGIN],
    DicomWeb: {
      Enable: true,
      Root: '/dicom-web/',
      EnableWado: false,
      Ssl: false,
      Host: `127.0.0.1:${httpPort}`,
    },
    ConcurrentJobs: 1,
    StableAge: 1,
  };
  const configPath = join(dir, 'orthanc.json');
  await writeFile(configPath, JSON.stringify(config, null, 2));
  const child: ChildProcess = spawn(ORTHANC_BINARY, [configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  const stop = async (): Promise<void> => {
    if (!exited) {
      const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await done;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };
  const restUrl = `http://127.0.0.1:${httpPort}`;
  const dicomwebBaseUrl = `${restUrl}/dicom-web`;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited) {
      await stop();
      throw new Error(`Orthanc exited during start-up: ${stderr}`);
    }
    try {
      const response = await fetch(`${dicomwebBaseUrl}/studies`, {
        headers: { accept: 'application/dicom+json' },
      });
      if (response.ok) return { dicomwebBaseUrl, restUrl, stop };
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await stop();
  throw new Error(`Orthanc did not answer ${dicomwebBaseUrl}/studies within ${timeoutMs} ms: ${stderr}`);
}
