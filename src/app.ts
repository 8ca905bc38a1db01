import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import websocket from '@fastify/websocket';
import Fastify from 'fastify';
import type { Logger } from 'pino';
import type { Database } from '../db/client.js';
import { cacheRoutes } from '../routes/cache.routes.js';
import { datasetsRoutes } from '../routes/datasets.routes.js';
import { exportsRoutes } from '../routes/exports.routes.js';
import { eventsRoutes } from '../routes/events.routes.js';
import { healthRoutes } from '../routes/health.routes.js';
import { jobsRoutes } from '../routes/jobs.routes.js';
import { providersRoutes } from '../routes/providers.routes.js';
import { runsRoutes } from '../routes/runs.routes.js';
import { topicsRoutes } from '../routes/topics.routes.js';
import { toolsRoutes } from '../routes/tools.routes.js';
import { uiRoutes } from '../routes/ui.routes.js';
import type { EventHub } from './events/event-hub.js';
import { installAuth } from './http/auth.js';
import { MAX_URL_BYTES, installEdgeGuards } from './http/edge-guards.js';
import { installErrorHandler } from './http/error-handler.js';
import { installGracefulClose, timeoutOptions } from './http/connections.js';
import { installRateLimit } from './http/rate-limit.js';
import { MAX_PARAM_LENGTH, clientErrorHandler, frameworkErrors } from './http/framework-errors.js';
import type { AnyFastify } from './http/types.js';
import { validatorCompiler } from './http/validation.js';
import type { ProviderRegistry } from './llm/providers.js';
import type { Metrics } from './metrics.js';
import type { HttpTimeouts } from './config.js';
import type { CacheBoundsConfig } from '../services/cache/cache.service.js';
import type { RunReporter } from '../services/runs/runs.service.js';
import type { CommitHooks } from '../db/run-hooks.js';
import { MAX_NESTING } from './safe-input.js';
import type { ImportLimits } from '../services/datasets/import-batches.js';

export interface AppDeps {
  log: Logger;
  database: Database;
  providers: ProviderRegistry;
  hub: EventHub;
  metrics: Metrics;
  apiKeys: string[];
  bodyLimitBytes: number;
  /** Bounds of one streamed import (POST /v1/datasets); services/datasets/import-batches.ts has the defaults. */
  importLimits?: ImportLimits;
  sseKeepAliveMs: number;
  lancedbRoots: string[];
  /** TOOLS_HTTP_ALLOW and TOOLS_HTTP_TIMEOUT_MS, for tool jobs' real execution. */
  toolsHttpAllow: string[];
  toolsHttpTimeoutMs: number;
  /** GET /metrics needs this bearer token when set. */
  metricsToken?: string;
  /** Runs one key may have queued or running at once (0 = no limit); checked in Postgres, across API processes. */
  maxRunsInFlight?: number;
  /** A run's report fields by kind (from the job modules). */
  reportOf?: RunReporter;
  /** The job modules' queue hooks, for cancel and retry (from the registry). */
  hooks?: CommitHooks;
  /** /v1 requests one key may make per minute in this process (0 or unset = no limit). */
  rateLimitPerMinute?: number;
  /** SSE/WebSocket streams one key may have open at once in this process (0 or unset = no limit). */
  maxStreamsPerKey?: number;
  /** A stream client with a full buffer that takes nothing for this long is disconnected. */
  streamStallTimeoutMs?: number;
  /** The response cache's and embeddings' bounds, shown by GET /v1/cache (src/config.ts). */
  caches: CacheBoundsConfig;
  /** Node's HTTP timeouts (src/config.ts); Node's and Fastify's defaults when absent. */
  httpTimeouts?: HttpTimeouts;
}

export const API_VERSION = '1.0.0';

/** Builds the HTTP app from its dependencies; it starts nothing and listens nowhere. */
export async function buildApp(deps: AppDeps): Promise<AnyFastify> {
  const app = Fastify({
    loggerInstance: deps.log,
    bodyLimit: deps.bodyLimitBytes,
    // Closing waits for requests in flight only as long as closeGracefully() allows (src/http/connections.ts).
    forceCloseConnections: 'idle',
    ...(deps.httpTimeouts ? timeoutOptions(deps.httpTimeouts) : {}),
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // Prototype keys are refused by the edge guards with a 400 naming them, not as "invalid JSON".
    onProtoPoisoning: 'ignore',
    onConstructorPoisoning: 'ignore',
    frameworkErrors,
    clientErrorHandler,
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.setValidatorCompiler(validatorCompiler());

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Quarry',
        version: API_VERSION,
        contact: { name: 'Quarry maintainers' },
        description:
          'Generate fine-tuning datasets with teacher LLMs. Jobs answer 202 with a run; watch it over SSE or WebSocket; ' +
          'export the dataset in a training format. Errors are `{ "error": { "code", "message", "details" } }`, details naming the field at fault. ' +
          'Refused anywhere in a request (400): NUL and unpaired UTF-16 surrogates in strings and keys, `__proto__` and `constructor` keys, ' +
          `nesting deeper than ${MAX_NESTING} levels, query strings that are not UTF-8. Request targets over ${MAX_URL_BYTES} bytes and path ` +
          `parameters over ${MAX_PARAM_LENGTH} characters: 414; headers over 16 KiB: 431.`,
      },
      // Relative: Swagger UI and generated clients call the host that served the document.
      servers: [{ url: '/', description: 'This Quarry service' }],
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'One of the API_KEYS, when configured' } } },
      security: [{ bearer: [] }],
      tags: [
        { name: 'jobs', description: 'Endpoints that queue runs' },
        { name: 'runs', description: 'Run status, control and event streams' },
        { name: 'datasets', description: 'Datasets, records and export' },
        { name: 'topics', description: 'Topic trees and graphs' },
        { name: 'tools', description: 'Tool definitions (Generator, OpenAI, MCP, OpenAPI) for tool-use data' },
        { name: 'providers', description: 'The configured teachers (LLM providers)' },
        { name: 'cache', description: 'The response cache: teacher answers kept per API key' },
        { name: 'ops', description: 'Health and metrics' },
      ],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  await app.register(websocket);
  installErrorHandler(app);
  installGracefulClose(app);
  installEdgeGuards(app);
  // Plain text is not an accepted body anywhere (JSONL has its own types): 415, not a confusing 400.
  app.removeContentTypeParser('text/plain');
  // JSONL bodies (dataset and topic imports) arrive as text and are parsed line by line by the services.
  app.addContentTypeParser(['application/x-ndjson', 'application/jsonl', 'application/x-jsonlines'], { parseAs: 'string' }, (_req, body, done) => done(null, body));
  installAuth(app, deps.apiKeys);
  await installRateLimit(app, deps.rateLimitPerMinute ?? 0);

  await app.register(healthRoutes(deps));
  await app.register(runsRoutes(deps));
  await app.register(eventsRoutes({ ...deps, keepAliveMs: deps.sseKeepAliveMs, stallMs: deps.streamStallTimeoutMs }));
  for (const job of jobsRoutes(deps)) await app.register(job);
  await app.register(topicsRoutes(deps));
  await app.register(toolsRoutes(deps));
  await app.register(datasetsRoutes(deps));
  await app.register(exportsRoutes(deps));
  await app.register(providersRoutes(deps));
  await app.register(cacheRoutes(deps));
  await app.register(uiRoutes());
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  return app;
}
