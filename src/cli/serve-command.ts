import { loadConfig } from '../config/load-config.js';
import { startServer } from '../main.js';

/** `fhir-fusion serve`: configuration from the environment (and FHIR_FUSION_CONFIG_FILE), then listen. */
export async function serveCommand(role?: 'intake' | 'worker' | 'all'): Promise<number> {
  const config = loadConfig(process.env);
  const running = await startServer(config, { role, handleSignals: true });
  running.server.log.info({ url: running.url }, 'fhir-fusion listening');
  await new Promise(() => undefined); // until a signal stops the process
  return 0;
}
