import { ConfigError, loadConfig } from './config.js';
import { createQuarry } from './quarry.js';

/** Entrypoint: configuration, then start and listen. Everything else lives in createQuarry. */
async function main() {
  const config = loadConfig();
  const quarry = await createQuarry(config);
  await quarry.start();
  await quarry.app!.listen({ port: config.port, host: config.host });
  if (config.apiKeys.length === 0) {
    quarry.log.warn({ host: config.host }, 'API_KEYS is not set: authentication is off, so the service only listens on 127.0.0.1');
  }
  if (config.apiKeys.length > 0 && !config.metricsToken) {
    quarry.log.warn('METRICS_TOKEN is not set: /metrics answers anyone who reaches the port (its labels name only configured providers and models)');
  }
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      quarry.log.info({ signal }, 'shutting down');
      quarry.stop().then(
        () => process.exit(0),
        (err) => {
          quarry.log.error({ err }, 'unclean shutdown');
          process.exit(1);
        },
      );
    });
  }
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
