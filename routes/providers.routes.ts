import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { providerView } from '../src/llm/provider-view.js';
import type { ProviderRegistry } from '../src/llm/providers.js';
import { errors } from './schemas.js';

const PriceInEffect = Type.Object(
  {
    input_per_mtok: Type.Number(),
    output_per_mtok: Type.Number(),
    cached_input_per_mtok: Type.Number({ description: 'Prompt tokens read from the provider’s prompt cache' }),
    batch_input_per_mtok: Type.Number({ description: 'Calls answered through a batch API (`llm.mode: "batch"`)' }),
    batch_output_per_mtok: Type.Number(),
    source: Type.Union([Type.Literal('configured'), Type.Literal('table'), Type.Literal('unknown')], {
      description: 'configured: PROVIDERS_FILE `pricing`; table: the built-in list prices of well-known models; unknown: neither (a local model), billed 0',
    }),
    matched: Type.Union([Type.String(), Type.Null()], { description: 'The table entry the model matched (`gpt-4o` for `gpt-4o-2024-08-06`)' }),
    as_of: Type.Union([Type.String(), Type.Null()], { description: 'When the table’s prices were read' }),
  },
  { description: 'USD per million tokens the default model’s calls are billed at (usage.cost_usd, dry-run estimates, max_cost_usd)' },
);

const ProviderView = Type.Object({
  name: Type.String({ description: 'What `llm.provider` names' }),
  kind: Type.Union([Type.Literal('openai'), Type.Literal('anthropic')], { description: 'openai: OpenAI and every OpenAI-compatible server; anthropic: Claude' }),
  default: Type.Boolean({ description: 'Used when a request names no provider' }),
  base_url: Type.String({ description: 'Without credentials or query string' }),
  default_model: Type.String({ description: 'Used when a request names no model' }),
  models: Type.Array(Type.String(), { description: 'Further models configured by name (metrics label them); any other model may be named too' }),
  api_key_env: Type.Union([Type.String(), Type.Null()], { description: 'The environment variable the key is read from (the key itself is never shown)' }),
  limits: Type.Object({
    max_concurrency: Type.Integer({ description: 'Teacher calls in flight at once, per worker process' }),
    timeout_ms: Type.Integer({ description: 'Per attempt' }),
    max_retries: Type.Integer({ description: 'SDK retries of 5xx/connection errors (429s are retried by the rate limiter, honouring Retry-After)' }),
    rpm: Type.Union([Type.Integer(), Type.Null()], { description: 'Configured requests per minute, shared by every worker on the database (1 to 10,000,000); null: learned from the provider’s rate-limit headers, if it sends them' }),
    tpm: Type.Union([Type.Integer(), Type.Null()], { description: 'Configured tokens (input + output) per minute (1 to 10,000,000,000); null: learned or unlimited' }),
    input_tpm: Type.Union([Type.Integer(), Type.Null()], { description: 'Configured input tokens per minute, for providers that count them apart (Anthropic); null: learned or unlimited' }),
    output_tpm: Type.Union([Type.Integer(), Type.Null()], { description: 'Configured output tokens per minute (Anthropic); null: learned or unlimited' }),
  }),
  pricing: PriceInEffect,
  embedding_model: Type.Union([Type.String(), Type.Null()], { description: 'The model `/v1/embeddings` is called with when a job names this provider in `embedding.provider` (`embedding_model` in PROVIDERS_FILE)' }),
  embedding_pricing: Type.Union([Type.Object({ input_per_mtok: Type.Number() }), Type.Null()], { description: 'USD per million embedded tokens (null: free)' }),
});

const EmbeddingDefault = Type.Union([Type.Object({ provider: Type.String(), model: Type.String() }), Type.Null()], {
  description: 'What jobs embed with when they name no `embedding` (EMBEDDING_PROVIDER/EMBEDDING_MODEL, or the first provider with an `embedding_model`); null: the lexical fallback (hashed character n-grams)',
});

export function providersRoutes(deps: { providers: ProviderRegistry }): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/v1/providers',
      {
        schema: {
          operationId: 'listProviders',
          tags: ['providers'],
          summary: 'The configured teachers',
          description:
            'Every provider a request may name in `llm.provider` (PROVIDERS_FILE, the OPENAI_/ANTHROPIC_ shortcuts, and Ollama, always defined), ' +
            'with its kind, base URL, default model and limits. Keys are never shown.',
          response: { 200: Type.Object({ default: Type.String({ description: 'The default provider’s name' }), embedding: EmbeddingDefault, providers: Type.Array(ProviderView) }), ...errors(401) },
        },
      },
      async () => ({ default: deps.providers.defaultName, embedding: deps.providers.embedding ?? null, providers: deps.providers.list().map((p) => providerView(p, deps.providers.defaultName)) }),
    );
  };
}
