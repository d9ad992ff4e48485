import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { repoRoot } from '../../helpers/fixtures.js';
import { compiledCli } from '../../helpers/compiled-cli.js';

/** fhir-fusion running as a child process (`node .test-build/cli/index.js serve`, see compiled-cli.ts). */
export interface ChildServer {
  url: string;
  /** `kill -9`: no shutdown hook runs. */
  kill9(): Promise<void>;
  /** Graceful stop (SIGTERM). */
  stop(): Promise<void>;
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

/**
 * Starts the server as a child process with configuration in its environment and waits until
 * `/healthz` answers. Its stderr is kept (last 4 KB) for the error message if it never comes up.
 * `role` runs one half of a scaled-out deployment (`serve --role intake|worker`).
 */
export async function startChildServer(
  env: Record<string, string>,
  port: number,
  timeoutMs = 60_000,
  role?: 'intake' | 'worker',
): Promise<ChildServer> {
  const child = spawn(process.execPath, compiledCli('serve', ...(role ? ['--role', role] : [])), {
    cwd: repoRoot,
    // One inference thread unless a test asks for more: each thread loads its own ONNX sessions
    // at every (re)start, and the kill tests restart dozens of times.
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'error',
      INFERENCE_THREADS: '1',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-4096);
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}: ${stderr}`);
    const ok = await fetch(`${url}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`server did not come up: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    async kill9() {
      child.kill('SIGKILL');
      await exited(child);
    },
    async stop() {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited(child);
      clearTimeout(timer);
    },
  };
}
