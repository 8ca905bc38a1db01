import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { AppError } from '../src/errors.js';
import type { Database } from '../db/client.js';
import type { Metrics } from '../src/metrics.js';
import { errors } from './schemas.js';

const digest = (s: string) => createHash('sha256').update(s).digest();

/** With METRICS_TOKEN set, /metrics answers only `Authorization: Bearer <METRICS_TOKEN>` (compared as digests, in constant time). */
function metricsGuard(token: string | undefined) {
  const expected = token === undefined ? undefined : digest(token);
  return async (request: { headers: { authorization?: string } }) => {
    if (!expected) return;
    const match = /^Bearer\s+(.+)$/i.exec(request.headers.authorization ?? '');
    if (!match || !timingSafeEqual(digest(match[1].trim()), expected)) {
      throw new AppError('unauthorized', 'metrics need the metrics token: send Authorization: Bearer <METRICS_TOKEN>', [
        { field: 'Authorization', message: match ? 'not the metrics token' : 'missing or not a Bearer token' },
      ]);
    }
  };
}

export function healthRoutes(deps: { database: Database; metrics: Metrics; metricsToken?: string }): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/healthz',
      { schema: { operationId: 'healthz', tags: ['ops'], summary: 'Liveness: the process answers',
          description: 'Needs no key and touches nothing: 200 as long as the process serves HTTP (a liveness probe).',
          response: { 200: Type.Object({ status: Type.Literal('ok') }) } } },
      async () => ({ status: 'ok' as const }),
    );
    app.get(
      '/readyz',
      {
        schema: {
          operationId: 'readyz',
          tags: ['ops'],
          summary: 'Readiness: the database answers',
          description: 'Needs no key. 200 with the database kind (postgres or pglite) when a query answers; 503 when the database is out of reach (a readiness probe).',
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
      {
        schema: {
          operationId: 'metrics',
          tags: ['ops'],
          summary: 'Prometheus metrics',
          description:
            'Labels carry only configured provider names and configured model names (any other model is `other`). With METRICS_TOKEN set, ' +
            'send `Authorization: Bearer <METRICS_TOKEN>`; API keys do not open it. Without METRICS_TOKEN it needs no key.',
          response: { 200: { description: 'Prometheus text format', content: { 'text/plain': { schema: { type: 'string' } } } }, ...errors(401) },
        },
        onRequest: metricsGuard(deps.metricsToken),
      },
      async (_request, reply) => reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics()),
    );
  };
}
