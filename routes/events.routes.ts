import type {} from '@fastify/websocket';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { openRunStream, replayCursor } from '../services/runs/run-stream.js';
import type { RunsDeps } from '../services/runs/runs.service.js';
import { RunParams, errors } from './schemas.js';

const ReplayQuery = Type.Object({
  after: Type.Optional(Type.Integer({ minimum: 0, description: 'Replay events with a seq greater than this (same as Last-Event-ID)' })),
});

const description =
  'Events: run.queued, run.started, record.created (with the record), record.failed (with a failure category), ' +
  'task.retrying, progress (done, failed, total, records/s, tokens, cost, ETA), run.retried, stage.started, stage.completed and stage.failed (pipelines), and the terminal ' +
  'run.succeeded | run.failed | run.canceled, after which the stream ends. Each event carries its seq as the SSE id; ' +
  'reconnect with Last-Event-ID (or ?after=) to replay what was missed.';

export function eventsRoutes(deps: RunsDeps & { keepAliveMs: number }): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/v1/runs/:id/events',
      {
        schema: {
          operationId: 'streamRunEvents',
          tags: ['runs'],
          summary: 'Stream run events (Server-Sent Events)',
          description,
          params: RunParams,
          querystring: ReplayQuery,
          headers: Type.Object({ 'last-event-id': Type.Optional(Type.String({ pattern: '^\\d+$' })) }),
          response: {
            200: { description: 'text/event-stream; `id:` is the event seq, `event:` its type, `data:` the JSON event', content: { 'text/event-stream': { schema: { type: 'string' } } } },
            ...errors(400, 401, 404),
          },
        },
      },
      async (request, reply) => {
        const raw = reply.raw;
        let keepAlive: NodeJS.Timeout | undefined;
        let started = false;
        const start = () => {
          if (started) return;
          started = true;
          reply.hijack();
          raw.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform', connection: 'keep-alive', 'x-accel-buffering': 'no' });
          raw.write('retry: 2000\n\n');
          keepAlive = setInterval(() => raw.write(': keep-alive\n\n'), deps.keepAliveMs);
        };
        const after = replayCursor(request.headers['last-event-id'], request.query.after);
        // openRunStream throws 404 before anything is written, so errors still get a JSON body.
        const close = await openRunStream(
          deps,
          request.owner,
          request.params.id,
          after,
          (e) => {
            start();
            raw.write(`id: ${e.seq}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
          },
          () => {
            start();
            clearInterval(keepAlive);
            raw.end();
          },
        );
        start();
        request.raw.on('close', () => {
          clearInterval(keepAlive);
          close();
        });
      },
    );

    // handler + wsHandler (rather than `websocket: true`) keeps the route in the OpenAPI document
    // and gives a plain GET a clear 426 instead of a bare 404.
    app.route({
      method: 'GET',
      url: '/v1/runs/:id/ws',
      schema: {
        operationId: 'streamRunEventsWebSocket',
        tags: ['runs'],
        summary: 'Stream run events over WebSocket',
        description: `${description} Each WebSocket message is one JSON event; the server closes with 1000 after the terminal event (4404 for an unknown run).`,
        params: RunParams,
        querystring: ReplayQuery,
        headers: Type.Object({ 'last-event-id': Type.Optional(Type.String({ pattern: '^\\d+$' })) }),
        response: { 101: { description: 'Switching protocols to WebSocket' }, ...errors(400, 401, 404, 426) },
      },
      handler: async (_request, reply) =>
        reply.status(426).header('upgrade', 'websocket').send({ error: { code: 'upgrade_required', message: 'this endpoint speaks WebSocket; connect with a WebSocket client', details: [] } }),
      wsHandler: async (socket, request) => {
        try {
          const close = await openRunStream(
            deps,
            request.owner,
            request.params.id,
            replayCursor(request.headers['last-event-id'], request.query.after),
            (e) => socket.send(JSON.stringify(e)),
            () => socket.close(1000, 'run ended'),
          );
          socket.on('close', close);
        } catch (err) {
          const e = err as { code?: string; message?: string };
          socket.send(JSON.stringify({ error: { code: e.code ?? 'internal', message: e.message ?? 'error', details: [] } }));
          socket.close(e.code === 'not_found' ? 4404 : 1011, e.code ?? 'error');
        }
      },
    });
  };
}
