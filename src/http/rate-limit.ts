import rateLimit from '@fastify/rate-limit';
import type { FastifyRequest, RouteOptions } from 'fastify';
import { errors } from '../../routes/schemas.js';
import { RateLimited } from '../rate-limited.js';
import type { AnyFastify } from './types.js';

const MINUTE_MS = 60_000;

const limited = (url: string | undefined) => url !== undefined && url.startsWith('/v1/');

/**
 * RATE_LIMIT_PER_MINUTE: every /v1 request counts against its API key (the anonymous owner when
 * API_KEYS is unset), in a fixed one-minute window per key, counted in this process — N API
 * processes allow up to N × the limit. Probes, /metrics and the contract are not counted. The check
 * runs before the body is read, after the key is (auth is an onRequest hook), so a flood costs
 * neither parsing nor planning; over the limit is a 429 `rate_limited` with `Retry-After`.
 */
export async function installRateLimit(app: AnyFastify, perMinute: number) {
  // Every /v1 route declares its 429 (this limit, or MAX_RUNS_IN_FLIGHT_PER_KEY) in the contract,
  // whatever the limits are set to: added before the routes are registered.
  app.addHook('onRoute', (route: RouteOptions) => {
    const response = (route.schema as { response?: Record<string, unknown> } | undefined)?.response;
    if (limited(route.url) && response && !response[429]) Object.assign(response, errors(429));
  });
  if (perMinute <= 0) return;
  await app.register(rateLimit, {
    global: true,
    max: perMinute,
    timeWindow: MINUTE_MS,
    hook: 'preParsing',
    keyGenerator: (request: FastifyRequest) => `owner:${request.owner}`,
    allowList: (request: FastifyRequest) => !limited(request.routeOptions.url),
    addHeaders: { 'x-ratelimit-limit': true, 'x-ratelimit-remaining': true, 'x-ratelimit-reset': true, 'retry-after': true },
    errorResponseBuilder: (_request, context) => {
      const retryAfter = Math.max(1, Math.ceil(context.ttl / 1000));
      return new RateLimited(`rate limit: at most ${context.max} requests a minute per API key; retry in ${retryAfter} s`, [
        { field: 'Authorization', message: `this key made more than ${context.max} requests in the last minute`, retry_after: retryAfter },
      ], retryAfter);
    },
  });
}
