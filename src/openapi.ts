import { pino } from 'pino';
import { loadConfig } from './config.js';
import { createQuarry } from './quarry.js';

/**
 * The OpenAPI document exactly as the service serves it, rendered from a throwaway in-memory
 * instance with a fixed configuration so the output does not depend on the machine.
 */
export async function renderOpenApi(): Promise<string> {
  const config = loadConfig({ DATA_DIR: 'memory://', WORKER_CONCURRENCY: '0', LOG_LEVEL: 'silent' });
  const quarry = await createQuarry(config, { log: pino({ level: 'silent' }), worker: false });
  try {
    await quarry.app!.ready();
    const res = await quarry.app!.inject({ method: 'GET', url: '/openapi.json' });
    return `${JSON.stringify(JSON.parse(res.body), null, 2)}\n`;
  } finally {
    await quarry.stop(0);
  }
}
