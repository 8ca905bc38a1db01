import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { cacheView, clearCache, type CacheDeps } from '../services/cache/cache.service.js';
import { errors } from './schemas.js';

const Bounds = Type.Object({ ttl_days: Type.Number({ description: 'Entries older than this are deleted (0: no age limit)' }), max_bytes: Type.Integer({ description: 'All owners’ entries together; the least recently used go first' }) });

const CacheStats = Type.Object(
  {
    entries: Type.Integer({ description: 'Answers kept for the caller' }),
    bytes: Type.Integer({ description: 'Their size as JSON' }),
    hits: Type.Integer({ description: 'Calls they answered since they were kept' }),
    oldest: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'When the oldest was kept (null: none)' }),
    newest: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    by_model: Type.Array(Type.Object({ provider: Type.String(), model: Type.String(), entries: Type.Integer(), bytes: Type.Integer(), hits: Type.Integer() }), { description: 'The same per provider and model' }),
    bounds: Type.Object(
      {
        ...Bounds.properties,
        max_entry_bytes: Type.Integer({ description: 'A bigger answer is used but not kept' }),
        embeddings: { ...Bounds, description: 'The stored record embeddings (oldest go first)' },
      },
      { description: 'The service’s bounds (CACHE_TTL_DAYS, CACHE_MAX_MB, EMBEDDINGS_TTL_DAYS, EMBEDDINGS_MAX_MB)' },
    ),
  },
  {
    examples: [
      {
        entries: 100,
        bytes: 48213,
        hits: 100,
        oldest: '2026-11-30T09:12:00.000Z',
        newest: '2026-11-30T09:13:05.000Z',
        by_model: [{ provider: 'openai', model: 'gpt-4o-mini', entries: 100, bytes: 48213, hits: 100 }],
        bounds: { ttl_days: 30, max_bytes: 1073741824, max_entry_bytes: 1048576, embeddings: { ttl_days: 90, max_bytes: 4294967296 } },
      },
    ],
  },
);

const DeleteQuery = Type.Object(
  {
    provider: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Only answers of this provider (its name, as in llm.provider)' })),
    model: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Only answers of this model' })),
    older_than: Type.Optional(Type.String({ format: 'date-time', description: 'Only answers kept before this time (ISO 8601, e.g. 2026-11-30T00:00:00Z)' })),
  },
  { additionalProperties: false },
);

export function cacheRoutes(deps: CacheDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/v1/cache',
      {
        schema: {
          operationId: 'getCache',
          tags: ['cache'],
          summary: 'The caller’s response cache: entries, size, hits, and the service’s bounds',
          description:
            'Teacher answers are kept per API key, keyed by a hash of what determines them (provider kind and base URL, model, messages, tools, schema, ' +
            'temperature, max tokens); an identical call of a later job (`cache: "use"`, the default) is answered from here at no cost. ' +
            'Another key never receives them.',
          response: { 200: CacheStats, ...errors(401) },
        },
      },
      async (request) => cacheView(deps, request.owner),
    );

    app.delete(
      '/v1/cache',
      {
        schema: {
          operationId: 'clearCache',
          tags: ['cache'],
          summary: 'Delete the caller’s cached answers, all or by provider, model or age',
          description: 'Filters combine (all must match). Only the caller’s own entries are deleted. Runs in flight keep working: a deleted answer is asked of the teacher again.',
          querystring: DeleteQuery,
          response: { 200: Type.Object({ deleted: Type.Integer({ description: 'Entries deleted' }) }, { examples: [{ deleted: 100 }] }), ...errors(400, 401) },
        },
      },
      async (request) => clearCache(deps, request.owner, request.query),
    );
  };
}
