import type {} from '@fastify/websocket';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { openSseStream, type SseStream } from '../src/events/sse.js';
import { MAX_EVENT_SEQ, SLOW_CLIENT_MAX_UNSENT_BYTES, openRunStream, replayCursor } from '../services/runs/run-stream.js';
import type { RunsDeps } from '../services/runs/runs.service.js';
import { createStreamSlots } from '../services/runs/stream-slots.js';
import { RunParams, errors } from './schemas.js';

/** How long an EventSource waits before reconnecting once a stream ends. */
const RECONNECT_MS = 2000;

const ReplayQuery = Type.Object({
  after: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_EVENT_SEQ, description: `Replay events with a seq greater than this (same as Last-Event-ID; at most ${MAX_EVENT_SEQ})` })),
});

const LastEventIdHeader = Type.Object({
  'last-event-id': Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_EVENT_SEQ, description: `seq of the last event received (at most ${MAX_EVENT_SEQ})` })),
});

const description =
  'Events: run.queued, run.started, record.created (with the record), record.failed (with a failure category), ' +
  'task.retrying, progress (done, failed, total, records/s, tokens, cost, projected cost, cost per minute, ETA), run.retried, run.budget_exceeded (max_cost_usd crossed: spent_usd, projected_usd, budget_usd, in_flight), provider.throttled and provider.resumed (a teacher paused by its circuit breaker: provider, reason, pause_ms; then paused_ms), stage.started, stage.completed and stage.failed (pipelines), and the terminal ' +
  'run.succeeded | run.failed | run.canceled, after which the stream ends. Each event carries its seq as the SSE id; ' +
  'reconnect with Last-Event-ID (or ?after=) to replay what was missed; a cursor past the newest event counts as the newest. ' +
  `A client that stops reading is sent nothing more once ${SLOW_CLIENT_MAX_UNSENT_BYTES / 1024 / 1024} MiB written to it are unread, and is ` +
  'disconnected if the run moves on meanwhile; it reconnects with Last-Event-ID and loses nothing. ' +
  'One key may have MAX_STREAMS_PER_KEY streams open at once per API process (429 beyond, WebSocket close 4429).';

export function eventsRoutes(deps: RunsDeps & { keepAliveMs: number; maxStreamsPerKey?: number; stallMs?: number }): FastifyPluginAsyncTypebox {
  return async (app) => {
    const streams = { ...deps, streams: createStreamSlots(deps.maxStreamsPerKey ?? 0) };
    // A stream never finishes on its own: closing the server ends each one (the client reconnects,
    // elsewhere, with Last-Event-ID) so that requests in flight are all the close waits for.
    const open = new Set<SseStream>();
    app.addHook('preClose', (done) => {
      for (const stream of open) stream.close();
      done();
    });
    // An ended stream's last bytes may sit unread too: the socket is cut once they have waited this long.
    const cutIfUnread = (raw: { writableLength: number; destroy(): void }) => {
      if (raw.writableLength > 0 && deps.stallMs) setTimeout(() => raw.destroy(), deps.stallMs).unref();
    };
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
          headers: LastEventIdHeader,
          response: {
            200: { description: 'text/event-stream; `id:` is the event seq, `event:` its type, `data:` the JSON event', content: { 'text/event-stream': { schema: { type: 'string' } } } },
            ...errors(400, 401, 404),
          },
        },
      },
      async (request, reply) => {
        const raw = reply.raw;
        let sse: SseStream | undefined;
        const start = () => {
          if (sse) return sse;
          reply.hijack();
          const stream = (sse = openSseStream(raw, { keepAliveMs: deps.keepAliveMs, retryMs: RECONNECT_MS }));
          open.add(stream);
          raw.once('close', () => open.delete(stream));
          return stream;
        };
        const after = replayCursor(request.headers['last-event-id'], request.query.after);
        // openRunStream throws 404 before anything is written, so errors still get a JSON body.
        const close = await openRunStream(streams, request.owner, request.params.id, after, {
          write: (batch, flushed) => start().write(batch.sse, flushed),
          unsent: () => raw.writableLength,
          end() {
            start().end();
            cutIfUnread(raw);
          },
          drop: () => (sse ? sse.destroy() : raw.destroy()),
        });
        start();
        // The client may have gone while the run was looked up; 'close' will not come again then.
        if (raw.destroyed) close();
        else raw.once('close', close);
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
        description: `${description} Each WebSocket message is one JSON event; the server closes with 1000 after the terminal event (4404 for an unknown run, 4429 over MAX_STREAMS_PER_KEY), and cuts a client it drops for not reading without a close frame (1006).`,
        params: RunParams,
        querystring: ReplayQuery,
        headers: LastEventIdHeader,
        response: { 101: { description: 'Switching protocols to WebSocket' }, ...errors(400, 401, 404, 426) },
      },
      handler: async (_request, reply) =>
        reply.status(426).header('upgrade', 'websocket').send({ error: { code: 'upgrade_required', message: 'this endpoint speaks WebSocket; connect with a WebSocket client', details: [] } }),
      wsHandler: async (socket, request) => {
        try {
          const close = await openRunStream(streams, request.owner, request.params.id, replayCursor(request.headers['last-event-id'], request.query.after), {
            write(batch, flushed) {
              const last = batch.frames.length - 1;
              batch.frames.forEach((frame, i) => socket.send(frame.json, i === last ? flushed : undefined));
            },
            unsent: () => socket.bufferedAmount,
            end: () => socket.close(1000, 'run ended'),
            // A close frame would queue behind what the client is not reading; cut the connection.
            drop: () => socket.terminate(),
          });
          if (socket.readyState !== socket.OPEN) close();
          socket.on('close', close);
        } catch (err) {
          const e = err as { code?: string; message?: string };
          socket.send(JSON.stringify({ error: { code: e.code ?? 'internal', message: e.message ?? 'error', details: [] } }));
          socket.close(e.code === 'not_found' ? 4404 : e.code === 'rate_limited' ? 4429 : 1011, e.code ?? 'error');
        }
      },
    });
  };
}
