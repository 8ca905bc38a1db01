import { Type, type Static } from '@sinclair/typebox';

/**
 * How a job embeds records (the `embedding` field of select, compare and curate's semantic dedup).
 * One schema for every job so the contract reads the same everywhere.
 */
export const EmbeddingOption = Type.Union(
  [
    Type.Literal('lexical', { description: 'No embedding model: hashed character n-grams weighted by TF-IDF over the dataset (no teacher calls).' }),
    Type.Object(
      {
        provider: Type.Optional(
          Type.String({ minLength: 1, maxLength: 100, description: 'An OpenAI-compatible provider (kind `openai`: OpenAI, vLLM, Ollama, Gemini). Default: EMBEDDING_PROVIDER, else the default provider.' }),
        ),
        model: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: "The embedding model. Default: EMBEDDING_MODEL, else the provider's `embedding_model`." })),
        dimensions: Type.Optional(Type.Integer({ minimum: 16, maximum: 4096, description: 'Ask the model for vectors this long (models that support it, e.g. text-embedding-3-*).' })),
      },
      { additionalProperties: false },
    ),
  ],
  {
    description:
      'Embeddings the job compares records by. Absent: the service default (EMBEDDING_PROVIDER/EMBEDDING_MODEL, or a provider with `embedding_model`); with none configured, the lexical fallback, and the report says so. Each record is embedded once per (text, model) and reused by every later job of the same API key.',
  },
);
export type EmbeddingOption = Static<typeof EmbeddingOption>;
