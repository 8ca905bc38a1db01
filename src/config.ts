import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { resolve } from 'node:path';
import { DEFAULT_IMPORT_MAX_BYTES, MAX_IMPORT_RECORDS } from '../services/datasets/import-batches.js';
import { allowEntryError } from '../services/tools/execute/allow-list.js';
import { CACHE_MODES, type CacheMode } from './llm/llm-settings.js';

/**
 * The only place that reads process.env. Everything else receives a Config.
 * Validated once at boot so a typo fails the start, not the first request.
 */
const EnvSchema = Type.Object({
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3000 }),
  HOST: Type.Optional(Type.String({ minLength: 1 })),
  DATABASE_URL: Type.Optional(Type.String({ pattern: '^postgres(ql)?://' })),
  DATA_DIR: Type.String({ default: './data' }),
  API_KEYS: Type.Optional(Type.String()),
  WORKER_CONCURRENCY: Type.Integer({ minimum: 0, maximum: 1024, default: 16 }),
  PROVIDERS_FILE: Type.Optional(Type.String({ minLength: 1 })),
  DEFAULT_PROVIDER: Type.Optional(Type.String({ minLength: 1 })),
  EMBEDDING_PROVIDER: Type.Optional(Type.String({ minLength: 1 })),
  EMBEDDING_MODEL: Type.Optional(Type.String({ minLength: 1 })),
  OPENAI_API_KEY: Type.Optional(Type.String()),
  OPENAI_BASE_URL: Type.Optional(Type.String({ pattern: '^https?://' })),
  ANTHROPIC_API_KEY: Type.Optional(Type.String()),
  ANTHROPIC_BASE_URL: Type.Optional(Type.String({ pattern: '^https?://' })),
  GEMINI_API_KEY: Type.Optional(Type.String()),
  GEMINI_BASE_URL: Type.Optional(Type.String({ pattern: '^https?://' })),
  OPENROUTER_API_KEY: Type.Optional(Type.String()),
  OPENROUTER_BASE_URL: Type.Optional(Type.String({ pattern: '^https?://' })),
  OLLAMA_BASE_URL: Type.String({ pattern: '^https?://', default: 'http://localhost:11434/v1' }),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    { default: 'info' },
  ),
  BODY_LIMIT_BYTES: Type.Integer({ minimum: 1024, default: 10 * 1024 * 1024 }),
  IMPORT_MAX_BYTES: Type.Integer({ minimum: 1024, maximum: 2 ** 50, default: DEFAULT_IMPORT_MAX_BYTES }),
  IMPORT_MAX_RECORDS: Type.Integer({ minimum: 1, maximum: MAX_IMPORT_RECORDS, default: MAX_IMPORT_RECORDS }),
  LEASE_SECONDS: Type.Number({ minimum: 1, default: 30 }),
  POLL_INTERVAL_MS: Type.Integer({ minimum: 10, default: 1000 }),
  SSE_KEEPALIVE_MS: Type.Integer({ minimum: 10, default: 15000 }),
  SHUTDOWN_GRACE_MS: Type.Integer({ minimum: 0, default: 10000 }),
  LANCEDB_ROOTS: Type.Optional(Type.String()),
  TOOLS_HTTP_ALLOW: Type.Optional(Type.String()),
  TOOLS_HTTP_TIMEOUT_MS: Type.Integer({ minimum: 1, maximum: 600_000, default: 10_000 }),
  METRICS_TOKEN: Type.Optional(Type.String({ minLength: 16 })),
  MAX_RUNS_IN_FLIGHT_PER_KEY: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 100 }),
  RATE_LIMIT_PER_MINUTE: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 600 }),
  MAX_STREAMS_PER_KEY: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 500 }),
  STREAM_STALL_TIMEOUT_MS: Type.Integer({ minimum: 10, maximum: 3_600_000, default: 60_000 }),
  HTTP_HEADERS_TIMEOUT_MS: Type.Integer({ minimum: 1, maximum: 3_600_000, default: 30_000 }),
  HTTP_REQUEST_TIMEOUT_MS: Type.Integer({ minimum: 1, maximum: 3_600_000, default: 120_000 }),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: Type.Integer({ minimum: 1, maximum: 3_600_000, default: 72_000 }),
  HTTP_CONNECTION_TIMEOUT_MS: Type.Integer({ minimum: 0, maximum: 86_400_000, default: 630_000 }),
  BATCH_WINDOW_MS: Type.Integer({ minimum: 10, maximum: 3_600_000, default: 5_000 }),
  BATCH_POLL_MS: Type.Integer({ minimum: 10, maximum: 3_600_000, default: 15_000 }),
  BATCH_SUBMIT_LEASE_MS: Type.Integer({ minimum: 100, maximum: 3_600_000, default: 300_000 }),
  CACHE_DEFAULT: Type.Union(CACHE_MODES.map((m) => Type.Literal(m)), { default: 'use' }),
  CACHE_TTL_DAYS: Type.Number({ minimum: 0, maximum: 36_500, default: 30 }),
  CACHE_MAX_MB: Type.Integer({ minimum: 1, maximum: 16_777_216, default: 1024 }),
  EMBEDDINGS_TTL_DAYS: Type.Number({ minimum: 0, maximum: 36_500, default: 90 }),
  EMBEDDINGS_MAX_MB: Type.Integer({ minimum: 1, maximum: 16_777_216, default: 4096 }),
  EXPORT_TTL_DAYS: Type.Number({ minimum: 0, maximum: 36_500, default: 7 }),
  EXPORT_MAX_MB: Type.Integer({ minimum: 1, maximum: 16_777_216, default: 8192 }),
});

/** The longest `Prefer: wait` a job request may hold its connection silent for. */
export const MAX_PREFER_WAIT_MS = 600_000;

export interface Config {
  port: number;
  host: string;
  databaseUrl?: string;
  dataDir: string;
  apiKeys: string[];
  workerConcurrency: number;
  providersFile?: string;
  defaultProvider?: string;
  /** The service's default embedding provider and model (EMBEDDING_PROVIDER, EMBEDDING_MODEL). */
  embedding: { provider?: string; model?: string };
  openai: { apiKey?: string; baseUrl?: string };
  anthropic: { apiKey?: string; baseUrl?: string };
  /** Gemini and OpenRouter through their OpenAI-compatible endpoints. */
  gemini: { apiKey?: string; baseUrl?: string };
  openrouter: { apiKey?: string; baseUrl?: string };
  ollamaBaseUrl: string;
  logLevel: string;
  bodyLimitBytes: number;
  /** POST /v1/datasets streams its body: these bound one import (a record's own bound is fixed, 1 MiB). */
  importMaxBytes: number;
  importMaxRecords: number;
  leaseSeconds: number;
  pollIntervalMs: number;
  sseKeepAliveMs: number;
  /** How long a stopping worker lets in-flight tasks finish before aborting and releasing them. */
  shutdownGraceMs: number;
  /** Directories LanceDB sources may be read from; empty = LanceDB sources disabled. */
  lancedbRoots: string[];
  /** Base URLs that `http` and `mcp` tool execution may call (TOOLS_HTTP_ALLOW); empty = both modes refused. */
  toolsHttpAllow: string[];
  /** How long one real tool call (`http`, `mcp`) may take, redirects and body included. */
  toolsHttpTimeoutMs: number;
  /** When set, GET /metrics needs `Authorization: Bearer <token>`. */
  metricsToken?: string;
  /** Runs one key may have queued or running at once (a pipeline counts once); 0 = no limit. */
  maxRunsInFlightPerKey: number;
  /** /v1 requests one key may make per minute, per API process; 0 = no limit. */
  rateLimitPerMinute: number;
  /** SSE/WebSocket streams one key may have open at once, per API process; 0 = no limit. */
  maxStreamsPerKey: number;
  /** A stream client with a full buffer that takes nothing for this long is disconnected. */
  streamStallTimeoutMs: number;
  http: HttpTimeouts;
  /**
   * Batch mode (`llm.mode: "batch"`): pending calls are submitted once the oldest waited windowMs
   * (BATCH_WINDOW_MS) or a batch is full; submitted batches are polled every pollMs (BATCH_POLL_MS);
   * a submitter has submitLeaseMs (BATCH_SUBMIT_LEASE_MS) to hand a batch over before others recover it.
   */
  batch: { windowMs: number; pollMs: number; submitLeaseMs: number };
  /**
   * The response cache's and the embeddings' bounds (CACHE_TTL_DAYS, CACHE_MAX_MB,
   * EMBEDDINGS_TTL_DAYS, EMBEDDINGS_MAX_MB): entries older than ttlDays (0: no limit) go, then the
   * least recently used (embeddings: the oldest) until the table fits in maxBytes.
   */
  /** The response-cache mode of jobs that name none (CACHE_DEFAULT). */
  cacheDefault: CacheMode;
  caches: { teacherCache: { ttlDays: number; maxBytes: number }; embeddings: { ttlDays: number; maxBytes: number } };
  /**
   * The files of export runs (EXPORT_TTL_DAYS, EXPORT_MAX_MB): exports written more than ttlDays ago
   * (0: no limit) go, then the oldest until all fit in maxBytes; a whole export at a time.
   */
  exportFiles: { ttlDays: number; maxBytes: number };
  /** Raw environment, for resolving provider `api_key_env` names. */
  env: Record<string, string | undefined>;
}

/**
 * Node's HTTP server timeouts. headers and request bound how long a client may take to *send* its
 * request (a slow-loris client trickling headers is cut with a 408); a response that streams for
 * long (SSE, `Prefer: wait`) is past them. connection is the idle-socket timeout, which a
 * silent `Prefer: wait` must outlast; keepAlive is how long an idle keep-alive connection stays open.
 */
export interface HttpTimeouts {
  headersMs: number;
  requestMs: number;
  keepAliveMs: number;
  /** 0 = none. */
  connectionMs: number;
}

export class ConfigError extends Error {}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const raw: Record<string, unknown> = {};
  const malformed: string[] = [];
  for (const [key, schema] of Object.entries(EnvSchema.properties)) {
    const value = env[key];
    if (value === undefined || value === '') continue;
    // TypeBox's conversion would read PORT=1e3 as 1 and 1.5 as 1; integers must be written as integers.
    if ((schema as { type?: string }).type === 'integer' && !/^-?\d+$/.test(value.trim())) malformed.push(`${key}: must be an integer, got "${value}"`);
    else raw[key] = value;
  }
  const withDefaults = Value.Default(EnvSchema, Value.Convert(EnvSchema, raw));
  const errors = [...Value.Errors(EnvSchema, withDefaults)];
  if (errors.length > 0 || malformed.length > 0) {
    const lines = [...malformed, ...errors.map((e) => `${e.path.slice(1) || '(root)'}: ${e.message}`)];
    throw new ConfigError(`Invalid environment:\n  ${lines.join('\n  ')}`);
  }
  const c = withDefaults as Static<typeof EnvSchema>;
  const conflicts = [
    c.HTTP_HEADERS_TIMEOUT_MS > c.HTTP_REQUEST_TIMEOUT_MS && `HTTP_HEADERS_TIMEOUT_MS (${c.HTTP_HEADERS_TIMEOUT_MS}) must not exceed HTTP_REQUEST_TIMEOUT_MS (${c.HTTP_REQUEST_TIMEOUT_MS})`,
    c.HTTP_CONNECTION_TIMEOUT_MS > 0 && c.HTTP_CONNECTION_TIMEOUT_MS <= MAX_PREFER_WAIT_MS && `HTTP_CONNECTION_TIMEOUT_MS must be 0 or above ${MAX_PREFER_WAIT_MS} (a Prefer: wait request is silent that long), got ${c.HTTP_CONNECTION_TIMEOUT_MS}`,
    c.HTTP_CONNECTION_TIMEOUT_MS > 0 && c.SSE_KEEPALIVE_MS >= c.HTTP_CONNECTION_TIMEOUT_MS && `SSE_KEEPALIVE_MS (${c.SSE_KEEPALIVE_MS}) must be below HTTP_CONNECTION_TIMEOUT_MS (${c.HTTP_CONNECTION_TIMEOUT_MS}), or quiet streams are cut`,
    ...toolsHttpAllow(c.TOOLS_HTTP_ALLOW).flatMap((entry) => allowEntryError(entry) ?? []).map((e) => `TOOLS_HTTP_ALLOW: ${e}`),
  ].filter((x): x is string => typeof x === 'string');
  if (conflicts.length > 0) throw new ConfigError(`Invalid environment:\n  ${conflicts.join('\n  ')}`);
  const apiKeys = (c.API_KEYS ?? '').split(',').map((k) => k.trim()).filter(Boolean);
  return {
    port: c.PORT,
    // Without API keys the service is open, so it only listens on loopback.
    host: apiKeys.length === 0 ? '127.0.0.1' : (c.HOST ?? '0.0.0.0'),
    databaseUrl: c.DATABASE_URL,
    dataDir: c.DATA_DIR,
    apiKeys,
    workerConcurrency: c.WORKER_CONCURRENCY,
    providersFile: c.PROVIDERS_FILE,
    defaultProvider: c.DEFAULT_PROVIDER,
    embedding: { provider: c.EMBEDDING_PROVIDER, model: c.EMBEDDING_MODEL },
    openai: { apiKey: c.OPENAI_API_KEY, baseUrl: c.OPENAI_BASE_URL },
    anthropic: { apiKey: c.ANTHROPIC_API_KEY, baseUrl: c.ANTHROPIC_BASE_URL },
    gemini: { apiKey: c.GEMINI_API_KEY, baseUrl: c.GEMINI_BASE_URL },
    openrouter: { apiKey: c.OPENROUTER_API_KEY, baseUrl: c.OPENROUTER_BASE_URL },
    ollamaBaseUrl: c.OLLAMA_BASE_URL,
    logLevel: c.LOG_LEVEL,
    bodyLimitBytes: c.BODY_LIMIT_BYTES,
    importMaxBytes: c.IMPORT_MAX_BYTES,
    importMaxRecords: c.IMPORT_MAX_RECORDS,
    leaseSeconds: c.LEASE_SECONDS,
    pollIntervalMs: c.POLL_INTERVAL_MS,
    sseKeepAliveMs: c.SSE_KEEPALIVE_MS,
    shutdownGraceMs: c.SHUTDOWN_GRACE_MS,
    lancedbRoots: (c.LANCEDB_ROOTS ?? '').split(',').map((r) => r.trim()).filter(Boolean).map((r) => resolve(r)),
    toolsHttpAllow: toolsHttpAllow(c.TOOLS_HTTP_ALLOW),
    toolsHttpTimeoutMs: c.TOOLS_HTTP_TIMEOUT_MS,
    metricsToken: c.METRICS_TOKEN,
    maxRunsInFlightPerKey: c.MAX_RUNS_IN_FLIGHT_PER_KEY,
    rateLimitPerMinute: c.RATE_LIMIT_PER_MINUTE,
    maxStreamsPerKey: c.MAX_STREAMS_PER_KEY,
    streamStallTimeoutMs: c.STREAM_STALL_TIMEOUT_MS,
    cacheDefault: c.CACHE_DEFAULT,
    caches: {
      teacherCache: { ttlDays: c.CACHE_TTL_DAYS, maxBytes: c.CACHE_MAX_MB * 1024 * 1024 },
      embeddings: { ttlDays: c.EMBEDDINGS_TTL_DAYS, maxBytes: c.EMBEDDINGS_MAX_MB * 1024 * 1024 },
    },
    exportFiles: { ttlDays: c.EXPORT_TTL_DAYS, maxBytes: c.EXPORT_MAX_MB * 1024 * 1024 },
    batch: { windowMs: c.BATCH_WINDOW_MS, pollMs: c.BATCH_POLL_MS, submitLeaseMs: c.BATCH_SUBMIT_LEASE_MS },
    http: { headersMs: c.HTTP_HEADERS_TIMEOUT_MS, requestMs: c.HTTP_REQUEST_TIMEOUT_MS, keepAliveMs: c.HTTP_KEEP_ALIVE_TIMEOUT_MS, connectionMs: c.HTTP_CONNECTION_TIMEOUT_MS },
    env,
  };
}

const toolsHttpAllow = (raw: string | undefined) => (raw ?? '').split(',').map((u) => u.trim()).filter(Boolean);
