import type { FastifyInstance } from 'fastify';

/** Any Fastify instance, whatever its logger and type provider: for helpers that only add hooks and handlers. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyFastify = FastifyInstance<any, any, any, any, any>;
