import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { AnyFastify } from './types.js';
import { AppError } from '../errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who owns what this request creates or reads: a hash of the API key, '' when auth is off. */
    owner: string;
  }
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Routes that answer without a key: probes, metrics and the contract (and /docs and /ui, pages that hold no data). */
const PUBLIC_ROUTES = new Set(['/healthz', '/readyz', '/metrics', '/openapi.json']);

/**
 * With API_KEYS set, every route but the public ones needs a bearer key, and the key's hash scopes
 * runs and datasets: another key gets 404 for them. Keys are compared as digests, in constant time.
 * The decision uses the matched route, not the raw URL, so percent-encoded paths cannot dodge it.
 */
export function installAuth(app: AnyFastify, apiKeys: string[]) {
  const known = apiKeys.map((k) => ({ digest: digest(k), owner: digest(k).toString('hex').slice(0, 16) }));
  app.decorateRequest('owner', '');
  app.addHook('onRequest', async (request: FastifyRequest) => {
    const route = request.routeOptions.url;
    if (known.length === 0 || (route && (PUBLIC_ROUTES.has(route) || route.startsWith('/docs') || route === '/ui' || route.startsWith('/ui/')))) return;
    const header = request.headers.authorization ?? '';
    const match = /^Bearer\s+(.+)$/i.exec(header);
    if (!match) throw new AppError('unauthorized', 'missing API key: send Authorization: Bearer <key>', [{ field: 'Authorization', message: 'missing or not a Bearer token' }]);
    const presented = digest(match[1].trim());
    const hit = known.find((k) => timingSafeEqual(k.digest, presented));
    if (!hit) throw new AppError('unauthorized', 'invalid API key', [{ field: 'Authorization', message: 'unknown key' }]);
    request.owner = hit.owner;
  });
}
