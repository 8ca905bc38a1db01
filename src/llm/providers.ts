import { readFileSync } from 'node:fs';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { parse as parseYaml } from 'yaml';
import { ConfigError, type Config } from '../config.js';

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
    pricing: Type.Optional(Type.Object({ input_per_mtok: Type.Number({ minimum: 0 }), output_per_mtok: Type.Number({ minimum: 0 }) })),
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
  pricing: { input_per_mtok: number; output_per_mtok: number };
}

export interface ProviderRegistry {
  defaultName: string;
  get(name: string | undefined): Provider | undefined;
  list(): Provider[];
}

const FREE = { input_per_mtok: 0, output_per_mtok: 0 };

/**
 * Providers come from PROVIDERS_FILE plus the env shortcuts. Ollama is always present so a fresh
 * install has a teacher to point at, and is the default unless something else is named.
 */
export function loadProviders(config: Config): ProviderRegistry {
  const providers = new Map<string, Provider>();
  const base = { maxConcurrency: 16, timeoutMs: 120_000, maxRetries: 4, pricing: FREE };
  providers.set('ollama', { ...base, name: 'ollama', kind: 'openai', baseUrl: config.ollamaBaseUrl, apiKey: 'ollama', defaultModel: 'qwen3:8b', maxRetries: 2 });
  if (config.openai.apiKey || config.openai.baseUrl) {
    providers.set('openai', {
      ...base,
      name: 'openai',
      kind: 'openai',
      baseUrl: config.openai.baseUrl ?? 'https://api.openai.com/v1',
      apiKey: config.openai.apiKey ?? 'none',
      apiKeyEnv: 'OPENAI_API_KEY',
      defaultModel: 'gpt-4o-mini',
      // The shortcut providers never throttle below the worker: WORKER_CONCURRENCY is the knob.
      maxConcurrency: Math.max(64, config.workerConcurrency),
    });
  }
  if (config.anthropic.apiKey || config.anthropic.baseUrl) {
    providers.set('anthropic', {
      ...base,
      name: 'anthropic',
      kind: 'anthropic',
      baseUrl: config.anthropic.baseUrl ?? 'https://api.anthropic.com',
      apiKey: config.anthropic.apiKey ?? 'none',
      apiKeyEnv: 'ANTHROPIC_API_KEY',
      defaultModel: 'claude-sonnet-4-5',
      maxConcurrency: Math.max(32, config.workerConcurrency),
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
      });
    }
  }
  const defaultName = config.defaultProvider ?? fileDefault ?? 'ollama';
  if (!providers.has(defaultName)) throw new ConfigError(`default provider "${defaultName}" is not configured (known: ${[...providers.keys()].join(', ')})`);
  return { defaultName, get: (name) => providers.get(name ?? defaultName), list: () => [...providers.values()] };
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

/** What may be shown about a provider: everything but the secret. */
export const publicProvider = (p: Provider) => ({ name: p.name, kind: p.kind, base_url: p.baseUrl, default_model: p.defaultModel, max_concurrency: p.maxConcurrency });
