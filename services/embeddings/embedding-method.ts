import { createHash } from 'node:crypto';
import { Type, type Static } from '@sinclair/typebox';
import type { Provider } from '../../src/llm/providers.js';

/**
 * The method a job embeds by, as chosen at plan time and carried in task payloads (so a finisher
 * task reads exactly the vectors its embed tasks wrote). `modelKey` names the stored vectors.
 */
export const EmbeddingMethodSchema = Type.Union([
  Type.Object(
    {
      kind: Type.Literal('model'),
      provider: Type.String(),
      model: Type.String(),
      dimensions: Type.Optional(Type.Integer({ minimum: 1 })),
      modelKey: Type.String(),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    { kind: Type.Literal('lexical'), method: Type.Literal('hashed-char-ngrams-tfidf'), dims: Type.Integer({ minimum: 1 }), reason: Type.String() },
    { additionalProperties: false },
  ),
]);
export type EmbeddingMethod = Static<typeof EmbeddingMethodSchema>;
export type ModelMethod = Extract<EmbeddingMethod, { kind: 'model' }>;

/** Vector length of the lexical fallback. */
export const LEXICAL_DIMS = 256;

/**
 * Where vectors are stored: the endpoint and model, not the provider's name, so two names for one
 * endpoint share their vectors and a renamed provider keeps them. Dimensions are part of it (a
 * shortened text-embedding-3 vector is a different vector).
 */
export function modelKey(provider: Pick<Provider, 'kind' | 'baseUrl'>, model: string, dimensions: number | undefined): string {
  const url = new URL(provider.baseUrl.trim());
  const base = `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
  return createHash('sha256').update(JSON.stringify([provider.kind, base, model, dimensions ?? null])).digest('hex').slice(0, 32);
}
