import { pino, type DestinationStream, type Logger } from 'pino';
import { openDatabase, type Database } from '../db/client.js';
import { startAutoAnalyze, startEviction } from '../db/maintenance.js';
import { teacherCacheStore } from '../db/teacher-cache.repository.js';
import { providerEventSink } from '../db/provider-events.repository.js';
import { rateBucketStore } from '../db/rate-buckets.repository.js';
import { runCountsByStatus } from '../db/runs.repository.js';
import { commitHooks, runReport, taskHandlers } from '../services/registry.js';
import { buildApp } from './app.js';
import type { Config } from './config.js';
import { createEventHub } from './events/event-hub.js';
import { responseCache } from './llm/cache.js';
import { batchItemStore } from '../db/batch-items.repository.js';
import { createBatchApi } from './llm/batch-api.js';
import { batchMode, deferralMs } from './llm/batch.js';
import { createLlmClient } from './llm/llm.client.js';
import { providerView } from './llm/provider-view.js';
import { loadProviders } from './llm/providers.js';
import { createMetrics } from './metrics.js';
import { logSerializers } from './log-serializers.js';
import { loadPrompts } from './prompts.js';
import { MAX_IMPORT_RECORD_BYTES } from '../services/datasets/import-batches.js';
import { createBatchRunner } from './queue/batch-runner.js';
import { createWorker } from './queue/worker.js';
import { preloadTokenizers } from './llm/rate/token-estimate.js';

export interface QuarryOptions {
  log?: Logger;
  /** An already-open database (tests share one); otherwise opened from the config. */
  database?: Database;
  /** Run the in-process worker (default: when WORKER_CONCURRENCY > 0). */
  worker?: boolean;
  /** Serve HTTP (default true); the standalone worker sets false. */
  http?: boolean;
}

export function createLogger(config: Pick<Config, 'logLevel'>, destination?: DestinationStream): Logger {
  const options = {
    level: config.logLevel,
    // Belt and braces: nothing we log carries a secret, and these paths are masked if one ever does.
    redact: ['req.headers.authorization', 'headers.authorization', '*.apiKey', '*.api_key', 'apiKey'],
    // Errors are logged with ids and sizes, never the SQL parameters or payloads they carry.
    serializers: logSerializers,
  };
  return destination ? pino(options, destination) : pino(options);
}

/** The composition root: every dependency is created here and nowhere else. */
export async function createQuarry(config: Config, options: QuarryOptions = {}) {
  const log = options.log ?? createLogger(config);
  const providers = loadProviders(config);
  const database = options.database ?? (await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir }));
  const metrics = createMetrics({ runsByStatus: () => runCountsByStatus(database.db) });
  // The response cache is outermost: a cached answer takes no batch, no rate budget and no slot.
  const cache = responseCache({ store: teacherCacheStore(database.db, { ttlDays: config.caches.teacherCache.ttlDays }), metrics, log });
  // Rate limits shared by every worker on the database; throttling told to the runs that wait.
  const rate = { store: rateBucketStore(database.db), events: providerEventSink(database.db) };
  // Batch mode inside the cache: a batch answer is cached like any other; a deferred call is not.
  const batch = batchMode({ store: batchItemStore(database.db), deferMs: deferralMs(config.batch.pollMs) });
  const llm = createLlmClient({ providers, metrics, log, middleware: [cache, batch], rate, cacheDefault: config.cacheDefault });
  // Providers with a token limit estimate tokens with the model's tokenizer: its tables load now, not mid-run.
  await preloadTokenizers(providers.list().filter((p) => p.rateLimits?.tpm ?? p.rateLimits?.input_tpm ?? p.rateLimits?.output_tpm).flatMap((p) => [p.defaultModel, ...(p.models ?? [])]));
  const hub = createEventHub({ database, log });
  const runWorker = options.worker ?? config.workerConcurrency > 0;
  const worker = runWorker
    ? createWorker({
        database,
        handlers: taskHandlers({ prompts: loadPrompts(), database, hub, providers, lancedbRoots: config.lancedbRoots, toolsHttpAllow: config.toolsHttpAllow, toolsHttpTimeoutMs: config.toolsHttpTimeoutMs, maxRunsInFlight: config.maxRunsInFlightPerKey, reportOf: runReport, hooks: commitHooks }),
        hooks: commitHooks,
        llm,
        log,
        metrics,
        concurrency: Math.max(1, config.workerConcurrency),
        leaseSeconds: config.leaseSeconds,
        pollIntervalMs: config.pollIntervalMs,
      })
    : undefined;
  // Every worker process submits and polls batches; they share the work through the database.
  const batches = runWorker ? createBatchRunner({ database, api: createBatchApi(), providers, log, metrics, ...config.batch }) : undefined;
  const app =
    options.http === false
      ? undefined
      : await buildApp({
          log,
          database,
          providers,
          hub,
          metrics,
          apiKeys: config.apiKeys,
          bodyLimitBytes: config.bodyLimitBytes,
          importLimits: { maxRecords: config.importMaxRecords, maxBytes: config.importMaxBytes, maxRecordBytes: MAX_IMPORT_RECORD_BYTES },
          sseKeepAliveMs: config.sseKeepAliveMs,
          lancedbRoots: config.lancedbRoots,
          toolsHttpAllow: config.toolsHttpAllow,
          toolsHttpTimeoutMs: config.toolsHttpTimeoutMs,
          metricsToken: config.metricsToken,
          maxRunsInFlight: config.maxRunsInFlightPerKey,
          reportOf: runReport,
          hooks: commitHooks,
          rateLimitPerMinute: config.rateLimitPerMinute,
          maxStreamsPerKey: config.maxStreamsPerKey,
          streamStallTimeoutMs: config.streamStallTimeoutMs,
          httpTimeouts: config.http,
          caches: config.caches,
        });

  let stopped = false;
  let stopAnalyze: (() => void) | undefined;
  let stopEviction: (() => void) | undefined;
  return {
    app,
    database,
    providers,
    worker,
    log,
    async start() {
      await hub.start();
      await worker?.start();
      batches?.start();
      // Postgres has autovacuum for this; the embedded database has nothing else.
      if (database.kind === 'pglite') stopAnalyze = startAutoAnalyze(database, log);
      stopEviction = startEviction(database, log, { ...config.caches, exportFiles: config.exportFiles });
      log.info({ database: database.kind, providers: providers.list().map((p) => providerView(p, providers.defaultName)), default_provider: providers.defaultName }, 'quarry ready');
    },
    /** Stops the worker first (finishing or releasing its tasks), then HTTP, then the database. */
    async stop(graceMs = config.shutdownGraceMs) {
      if (stopped) return;
      stopped = true;
      stopAnalyze?.();
      stopEviction?.();
      await batches?.stop();
      await worker?.stop(graceMs);
      await app?.close();
      await hub.stop();
      if (!options.database) await database.close();
    },
  };
}

export type Quarry = Awaited<ReturnType<typeof createQuarry>>;
