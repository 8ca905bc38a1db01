import { Type, type Static } from '@sinclair/typebox';

export const CACHE_MODES = ['use', 'refresh', 'off'] as const;

/** What a job does with the response cache: answer identical calls from it (default), call again and replace, or neither read nor write. */
export const CacheMode = Type.Union(
  CACHE_MODES.map((m) => Type.Literal(m)),
  { description: 'use (default): identical teacher calls are answered from the owner\'s cache; refresh: call again and replace the cached answer; off: neither read nor write the cache' },
);
export type CacheMode = Static<typeof CacheMode>;

/** Which teacher a job uses and how: the one definition the request schemas, task payloads and the LLM client share. */
export const LlmSettings = Type.Object(
  {
    provider: Type.Optional(Type.String({ minLength: 1, description: 'Provider name from configuration (default: the configured default, Ollama when none)' })),
    model: Type.Optional(Type.String({ minLength: 1, description: "Model name; the provider's default model when absent" })),
    temperature: Type.Optional(Type.Number({ minimum: 0, maximum: 2 })),
    max_tokens: Type.Optional(Type.Integer({ minimum: 1, maximum: 200_000 })),
    mode: Type.Optional(
      Type.Union([Type.Literal('online'), Type.Literal('batch')], {
        description:
          "online (default): one request per call. batch: the run's calls go through the provider's batch API (OpenAI Batch, Anthropic Message Batches) at batch prices, answered within the provider's 24-hour window; the run shows output.batch. Providers without a batch API (ollama, gemini, openrouter) answer online",
      }),
    ),
    cache: Type.Optional(CacheMode),
  },
  { additionalProperties: false, description: 'Which teacher to use and how' },
);

export type LlmSettings = Static<typeof LlmSettings>;
