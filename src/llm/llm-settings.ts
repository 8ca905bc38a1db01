import { Type, type Static } from '@sinclair/typebox';

/** Which teacher a job uses and how: the one definition the request schemas, task payloads and the LLM client share. */
export const LlmSettings = Type.Object(
  {
    provider: Type.Optional(Type.String({ minLength: 1, description: 'Provider name from configuration (default: the configured default, Ollama when none)' })),
    model: Type.Optional(Type.String({ minLength: 1, description: "Model name; the provider's default model when absent" })),
    temperature: Type.Optional(Type.Number({ minimum: 0, maximum: 2 })),
    max_tokens: Type.Optional(Type.Integer({ minimum: 1, maximum: 200_000 })),
  },
  { additionalProperties: false, description: 'Which teacher to use and how' },
);

export type LlmSettings = Static<typeof LlmSettings>;
