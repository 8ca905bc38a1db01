import { ConfigError, loadConfig } from './config.js';
import { createQuarry } from './quarry.js';

/** Standalone worker: no HTTP, claims tasks from the shared Postgres. Run as many as you like. */
async function main() {
  const config = loadConfig();
  if (!config.databaseUrl) throw new ConfigError('npm run worker needs DATABASE_URL: standalone workers share a Postgres server with the API (the embedded database belongs to one process)');
  if (config.workerConcurrency < 1) throw new ConfigError('WORKER_CONCURRENCY must be at least 1 for a standalone worker');
  const quarry = await createQuarry(config, { http: false, worker: true });
  await quarry.start();
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      quarry.log.info({ signal }, 'worker shutting down');
      quarry.stop().then(() => process.exit(0), () => process.exit(1));
    });
  }
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
