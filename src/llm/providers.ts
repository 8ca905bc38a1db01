import { readFileSync } from 'node:fs';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { parse as parseYaml } from 'yaml';
import { ConfigError, type Config } from '../config.js';
import type { Price } from './pricing.js';
import { LIMIT_KEYS, type RateLimits } from './rate/limits.js';

/** Bounds of the configured rate limits (per minute): 1 to 10 million requests, 1 to 10 billion tokens. */
export const MAX_RPM = 10_000_000;
export const MAX_TPM = 10_000_000_000;

const ProviderFileEntry = Type.Object(
  {
    kind: Type.Union([Type.Literal('openai'), Type.Literal('anthropic')]),
    base_url: Type.Optional(Type.String({ pattern: '^https?://' })),
    api_key_env: Type.Optional(Type.String({ minLength: 1 })),
    model: Type.String({ minLength: 1 }),
    models: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { maxItems: 100 })),
    max_concurrency: Type.Optional(Type.Integer({ minimum: 1, maximum: 4096 })),
    timeout_ms: Type.Optional(Type.Integer({ minimum: 100 })),
    max_retries: Type.Optional(Type.Integer({ minimum: 0, maximum: 20 })),
    // Rate limits per minute (src/llm/rate/): requests, tokens, and input/output tokens apart where the provider counts them so.
    rpm: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_RPM })),
    tpm: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_TPM })),
    input_tpm: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_TPM })),
    output_tpm: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_TPM })),
    pricing: Type.Optional(
      Type.Object({
        input_per_mtok: Type.Number({ minimum: 0 }),
        output_per_mtok: Type.Number({ minimum: 0 }),
        cached_input_per_mtok: Type.Optional(Type.Number({ minimum: 0 })),
        batch_input_per_mtok: Type.Optional(Type.Number({ minimum: 0 })),
        batch_output_per_mtok: Type.Optional(Type.Number({ minimum: 0 })),
      }),
    ),
    embedding_model: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    embedding_pricing: Type.Optional(Type.Object({ input_per_mtok: Type.Number({ minimum: 0 }) }, { additionalProperties: false })),
  },
  { additionalProperties: false },
);

const ProvidersFile = Type.Object(
  { default: Type.Optional(Type.String()), providers: Type.Record(Type.String({ pattern: '^[a-zA-Z0-9_.-]+$' }), ProviderFileEntry) },
  { additionalProperties: false },
);

export interface Provider {
  name: string;
  kind: 'openai' | 'anthropic';
  baseUrl: string;
  /** Resolved secret; never logged, never serialised. */
  apiKey: string;
  apiKeyEnv?: string;
  defaultModel: string;
  /** Further models callers may name that /metrics labels by name (any other is `other`). */
  models?: string[];
  maxConcurrency: number;
  timeoutMs: number;
  maxRetries: number;
  pricing: Price;
  /** Whether `pricing` was configured (PROVIDERS_FILE); without it calls are priced from the table (pricing.ts `priceOf`). */
  priced?: boolean;
  /** The model `/v1/embeddings` is called with when a job names this provider for embeddings (`embedding_model`). */
  embeddingModel?: string;
  /** Price of embedding input (`embedding_pricing`); absent = free. */
  embeddingPricing?: { input_per_mtok: number };
  /** Configured per-minute limits (`rpm`, `tpm`, `input_tpm`, `output_tpm`); limits learned from headers fill the rest. */
  rateLimits?: RateLimits;
}

/** The service's default embedding model: EMBEDDING_PROVIDER/EMBEDDING_MODEL, or the first provider with an `embedding_model`. */
export interface EmbeddingDefault {
  provider: string;
  model: string;
}

export interface ProviderRegistry {
  defaultName: string;
  get(name: string | undefined): Provider | undefined;
  list(): Provider[];
  /** Absent when nothing names an embedding model: jobs then fall back to lexical vectors. */
  embedding?: EmbeddingDefault;
}

const FREE = { input_per_mtok: 0, output_per_mtok: 0 };

/**
 * Providers a default install has once their usual key variable is set (the names DeepFabric
 * configs use); Gemini and OpenRouter are reached through their OpenAI-compatible endpoints. The
 * base URL variable overrides the endpoint (a proxy, a local gateway, the fake teacher).
 */
export const KEY_PROVIDERS = [
  { name: 'openai', kind: 'openai', keyEnv: 'OPENAI_API_KEY', baseUrlEnv: 'OPENAI_BASE_URL', baseUrl: 'https://api.openai.com/v1', model: 'gpt-4o-mini', concurrency: 64 },
  { name: 'anthropic', kind: 'anthropic', keyEnv: 'ANTHROPIC_API_KEY', baseUrlEnv: 'ANTHROPIC_BASE_URL', baseUrl: 'https://api.anthropic.com', model: 'claude-sonnet-5', concurrency: 32 },
  { name: 'gemini', kind: 'openai', keyEnv: 'GEMINI_API_KEY', baseUrlEnv: 'GEMINI_BASE_URL', baseUrl: 'https://generativelanguage.googleapis.com/v1beta/openai/', model: 'gemini-2.5-flash', concurrency: 32 },
  { name: 'openrouter', kind: 'openai', keyEnv: 'OPENROUTER_API_KEY', baseUrlEnv: 'OPENROUTER_BASE_URL', baseUrl: 'https://openrouter.ai/api/v1', model: 'openai/gpt-4o-mini', concurrency: 32 },
] as const satisfies ReadonlyArray<{ name: keyof Config; kind: Provider['kind']; keyEnv: string; baseUrlEnv: string; baseUrl: string; model: string; concurrency: number }>;

/**
 * Providers come from PROVIDERS_FILE plus the env shortcuts. Ollama is always present so a fresh
 * install has a teacher to point at, and is the default unless something else is named.
 */
export function loadProviders(config: Config): ProviderRegistry {
  const providers = new Map<string, Provider>();
  const base = { maxConcurrency: 16, timeoutMs: 120_000, maxRetries: 4, pricing: FREE };
  providers.set('ollama', { ...base, name: 'ollama', kind: 'openai', baseUrl: config.ollamaBaseUrl, apiKey: 'ollama', defaultModel: 'qwen3:8b', maxRetries: 2 });
  for (const shortcut of KEY_PROVIDERS) {
    const { apiKey, baseUrl } = config[shortcut.name];
    if (!apiKey && !baseUrl) continue;
    providers.set(shortcut.name, {
      ...base,
      name: shortcut.name,
      kind: shortcut.kind,
      baseUrl: baseUrl ?? shortcut.baseUrl,
      apiKey: apiKey ?? 'none',
      apiKeyEnv: shortcut.keyEnv,
      defaultModel: shortcut.model,
      // The shortcut providers never throttle below the worker: WORKER_CONCURRENCY is the knob.
      maxConcurrency: Math.max(shortcut.concurrency, config.workerConcurrency),
    });
  }
  let fileDefault: string | undefined;
  if (config.providersFile) {
    const file = readProvidersFile(config.providersFile);
    fileDefault = file.default;
    for (const [name, p] of Object.entries(file.providers)) {
      const apiKey = p.api_key_env ? config.env[p.api_key_env] : undefined;
      if (p.api_key_env && !apiKey) throw new ConfigError(`provider ${name}: environment variable ${p.api_key_env} (api_key_env) is not set`);
      providers.set(name, {
        name,
        kind: p.kind,
        baseUrl: p.base_url ?? (p.kind === 'anthropic' ? 'https://api.anthropic.com' : 'https://api.openai.com/v1'),
        apiKey: apiKey ?? 'none',
        apiKeyEnv: p.api_key_env,
        defaultModel: p.model,
        models: p.models,
        maxConcurrency: p.max_concurrency ?? base.maxConcurrency,
        timeoutMs: p.timeout_ms ?? base.timeoutMs,
        maxRetries: p.max_retries ?? base.maxRetries,
        pricing: p.pricing ?? FREE,
        priced: p.pricing !== undefined,
        embeddingModel: p.embedding_model,
        embeddingPricing: p.embedding_pricing,
        rateLimits: rateLimitsOf(p),
      });
    }
  }
  const defaultName = config.defaultProvider ?? fileDefault ?? 'ollama';
  if (!providers.has(defaultName)) throw new ConfigError(`default provider "${defaultName}" is not configured (known: ${[...providers.keys()].join(', ')})`);
  const embedding = embeddingDefault(config, providers, defaultName);
  return { defaultName, get: (name) => providers.get(name ?? defaultName), list: () => [...providers.values()], embedding };
}

/**
 * EMBEDDING_PROVIDER (else the default provider when EMBEDDING_MODEL is set) with EMBEDDING_MODEL or
 * its `embedding_model`; with neither variable, the default provider's `embedding_model`, else the
 * first provider that has one. Only OpenAI-compatible providers embed: naming another fails the start.
 */
function embeddingDefault(config: Config, providers: Map<string, Provider>, defaultName: string): EmbeddingDefault | undefined {
  const { provider: named, model } = config.embedding;
  if (!named && !model) {
    const candidates = [providers.get(defaultName)!, ...providers.values()];
    const found = candidates.find((p) => p.kind === 'openai' && p.embeddingModel);
    return found && { provider: found.name, model: found.embeddingModel! };
  }
  const name = named ?? defaultName;
  const provider = providers.get(name);
  const which = named ? 'EMBEDDING_PROVIDER' : 'the default provider (EMBEDDING_MODEL is set)';
  if (!provider) throw new ConfigError(`EMBEDDING_PROVIDER "${name}" is not configured (known: ${[...providers.keys()].join(', ')})`);
  if (provider.kind !== 'openai') throw new ConfigError(`${which} "${name}" is an ${provider.kind} provider; embeddings need an OpenAI-compatible one (kind openai)`);
  const chosen = model ?? provider.embeddingModel;
  if (!chosen) throw new ConfigError(`EMBEDDING_PROVIDER "${name}" has no embedding_model: set EMBEDDING_MODEL`);
  return { provider: name, model: chosen };
}

function rateLimitsOf(p: Static<typeof ProviderFileEntry>): RateLimits | undefined {
  const limits: RateLimits = {};
  for (const key of LIMIT_KEYS) if (p[key] !== undefined) limits[key] = p[key];
  return Object.keys(limits).length > 0 ? limits : undefined;
}

function readProvidersFile(path: string): Static<typeof ProvidersFile> {
  let parsed: unknown;
  try {
    parsed = parseYaml(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(`PROVIDERS_FILE ${path}: ${(err as Error).message}`);
  }
  const errors = [...Value.Errors(ProvidersFile, parsed)];
  if (errors.length > 0) throw new ConfigError(`PROVIDERS_FILE ${path}: ${errors.map((e) => `${e.path || '/'} ${e.message}`).join('; ')}`);
  return parsed as Static<typeof ProvidersFile>;
}
