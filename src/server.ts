import closeWithGrace from 'close-with-grace';
import { ConfigError, loadConfig } from './config.js';
import { createQuarry } from './quarry.js';

/** Room past the two graces (HTTP, then the worker) for closing the event hub and the database. */
const CLOSE_MARGIN_MS = 5_000;

/** Entrypoint: configuration, then start and listen. Everything else lives in createQuarry. */
async function main() {
  const config = loadConfig();
  const quarry = await createQuarry(config);
  const app = quarry.app!;
  await quarry.start();
  // On SIGTERM/SIGINT (or an uncaught error): HTTP first — no new connections, requests in flight
  // finish within the grace while the worker still runs the runs they may be waiting for — then the
  // worker (its tasks finish or are released, again within the grace) and the database. A second
  // signal, or overrunning both graces, exits at once.
  closeWithGrace({ delay: 2 * config.shutdownGraceMs + CLOSE_MARGIN_MS, logger: quarry.log }, async ({ signal, err }) => {
    if (err) quarry.log.error({ err }, 'closing after an uncaught error');
    else quarry.log.info({ signal }, 'shutting down');
    await app.closeGracefully(config.shutdownGraceMs);
    await quarry.stop();
  });
  await app.listen({ port: config.port, host: config.host });
  if (config.apiKeys.length === 0) {
    quarry.log.warn({ host: config.host }, 'API_KEYS is not set: authentication is off, so the service only listens on 127.0.0.1');
  }
  if (config.apiKeys.length > 0 && !config.metricsToken) {
    quarry.log.warn('METRICS_TOKEN is not set: /metrics answers anyone who reaches the port (its labels name only configured providers and models)');
  }
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
