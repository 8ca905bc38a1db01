import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Database } from '../db/client.js';
import type { Metrics } from '../src/metrics.js';
import { errors } from './schemas.js';

export function healthRoutes(deps: { database: Database; metrics: Metrics }): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/healthz',
      { schema: { operationId: 'healthz', tags: ['ops'], summary: 'Liveness: the process answers', response: { 200: Type.Object({ status: Type.Literal('ok') }) } } },
      async () => ({ status: 'ok' as const }),
    );
    app.get(
      '/readyz',
      {
        schema: {
          operationId: 'readyz',
          tags: ['ops'],
          summary: 'Readiness: the database answers',
          response: { 200: Type.Object({ status: Type.Literal('ready'), database: Type.String() }), ...errors(503) },
        },
      },
      async (_request, reply) => {
        try {
          await deps.database.ping();
          return { status: 'ready' as const, database: deps.database.kind };
        } catch {
          return reply.status(503).send({ error: { code: 'unavailable', message: 'database unreachable', details: [] } });
        }
      },
    );
    app.get(
      '/metrics',
      { schema: { operationId: 'metrics', tags: ['ops'], summary: 'Prometheus metrics', response: { 200: { description: 'Prometheus text format', content: { 'text/plain': { schema: { type: 'string' } } } } } } },
      async (_request, reply) => reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics()),
    );
  };
}
