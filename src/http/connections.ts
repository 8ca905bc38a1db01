import type {} from '@fastify/websocket';
import type { ServerOptions } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyServerOptions } from 'fastify';
import type { HttpTimeouts } from '../config.js';
import type { AnyFastify } from './types.js';

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * Stops accepting connections, lets the requests in flight finish for up to `graceMs`, then
     * cuts what is left and closes. `close()` alone is the same with no grace.
     */
    closeGracefully(graceMs: number): Promise<void>;
  }
}

/**
 * Fastify's server options for the timeouts. Node checks the headers and request deadlines every
 * `connectionsCheckingInterval` (30 s by default), so a deadline would be overrun by up to that:
 * it is checked at half the shorter deadline instead.
 */
export function timeoutOptions(t: HttpTimeouts): Pick<FastifyServerOptions, 'connectionTimeout' | 'keepAliveTimeout' | 'requestTimeout'> & { http: ServerOptions } {
  return {
    connectionTimeout: t.connectionMs,
    keepAliveTimeout: t.keepAliveMs,
    requestTimeout: t.requestMs,
    http: { headersTimeout: t.headersMs, requestTimeout: t.requestMs, connectionsCheckingInterval: Math.max(1, Math.min(30_000, Math.floor(t.headersMs / 2))) },
  };
}

/**
 * Closing, in order: Fastify stops accepting connections and closes idle keep-alive ones; the
 * preClose hooks end event streams (routes/events.routes.ts) and WebSocket streams
 * (@fastify/websocket); a request in flight is answered, then its connection closes; whatever
 * is still open after the grace is cut. Register before the routes, with `forceCloseConnections: 'idle'`.
 */
export function installGracefulClose(app: AnyFastify) {
  let graceMs = 0;
  let closing = false;
  app.decorate('closeGracefully', async (ms: number) => {
    graceMs = ms;
    await app.close();
  });
  app.addHook('preClose', (done) => {
    closing = true;
    const cut = setTimeout(() => {
      app.server.closeAllConnections();
      // Upgraded sockets are no longer the HTTP server's to cut.
      for (const socket of app.websocketServer?.clients ?? []) socket.terminate();
      // Past the grace nothing is served, even a connection accepted before the listener closed.
      app.server.on('connection', (socket: Socket) => socket.destroy());
    }, graceMs);
    cut.unref();
    app.server.once('close', () => clearTimeout(cut));
    done();
  });
  // A request in flight is answered in full, and told its connection will not take another.
  app.addHook('onSend', async (_request, reply) => {
    if (closing) reply.header('connection', 'close');
  });
  // A keep-alive connection whose response ends during the close would otherwise idle until its timeout.
  app.addHook('onResponse', async () => {
    if (closing) app.server.closeIdleConnections();
  });
}
