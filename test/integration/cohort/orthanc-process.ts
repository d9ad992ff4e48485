import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A throw-away Orthanc (Debian `orthanc` + `orthanc-dicomweb`) for integration tests. */
export interface OrthancProcess {
  restUrl: string;
  dicomwebUrl: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Starts Orthanc with the DICOMweb plugin on free ports and a temporary storage folder. */
export async function startOrthanc(
  binary = '/usr/sbin/Orthanc',
  pluginDir = '/usr/share/orthanc/plugins',
): Promise<OrthancProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'orthanc-cohort-'));
  const httpPort = await freePort();
  const dicomPort = await freePort();
  const config = {
    Name: 'cohort-test',
    StorageDirectory: join(dir, 'storage'),
    IndexDirectory: join(dir, 'index'),
    HttpPort: httpPort,
    DicomPort: dicomPort,
    RemoteAccessAllowed: false,
    AuthenticationEnabled: false,
    Plugins: [pluginDir],
    DicomWeb: { Enable: true, Root: '/dicom-web/' },
  };
  const configPath = join(dir, 'orthanc.json');
  writeFileSync(configPath, JSON.stringify(config));
  const child: ChildProcess = spawn(binary, [configPath], { stdio: 'ignore' });
  const restUrl = `http://127.0.0.1:${httpPort}`;
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const res = await fetch(`${restUrl}/system`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`Orthanc did not start (exit code ${String(child.exitCode)})`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { restUrl, dicomwebUrl: `${restUrl}/dicom-web`, stop };
}
