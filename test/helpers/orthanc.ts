import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts } from './free-port.js';
import { findOrthanc } from './peers.js';

/** A running Orthanc with its DICOMweb plugin, started for one test file. */
export interface RunningOrthanc {
  /** DICOMweb service root without trailing slash, e.g. `http://127.0.0.1:40123/dicom-web`. */
  dicomwebBaseUrl: string;
  /** Orthanc's own REST API root, e.g. `http://127.0.0.1:40123` (for `/instances` counts). */
  restUrl: string;
  /** Stops Orthanc and deletes its storage. */
  stop(): Promise<void>;
}

/**
 * Starts Debian's Orthanc (packages `orthanc`, `orthanc-dicomweb`) on free loopback ports with a
 * temporary storage folder, DICOMweb enabled, remote access and authentication off, and waits
 * until `/dicom-web/studies` answers. Throws the peer note (what is missing, how to install it)
 * when Orthanc is not installed.
 */
export async function startOrthanc(timeoutMs = 30_000): Promise<RunningOrthanc> {
  // Tests call needsPeer(ctx, findOrthanc()) first to skip cleanly; this is the last guard.
  const peer = findOrthanc();
  if (!peer.available) throw new Error(peer.note);
  const { binary, dicomwebPlugin } = peer;
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
    Plugins: [dicomwebPlugin],
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
  const child: ChildProcess = spawn(binary, [configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
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
