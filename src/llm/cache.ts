import type { Logger } from 'pino';
import type { Metrics } from '../metrics.js';
import type { ResolvedCall, TeacherMiddleware } from './middleware.js';
import type { TeacherResponse } from './teacher-request.js';

/** An answer as the cache keeps it: what the provider said, without how it came. */
export type CachedResponse = Omit<TeacherResponse, 'via'>;

/**
 * Where answers are kept (db/teacher-cache.repository.ts): shared by every worker, scoped by owner.
 * Defined here so src/llm/ needs no database.
 */
export interface TeacherCacheStore {
  /** The answer kept under (owner, key), counted as used; undefined when there is none or it outlived its TTL. */
  get(owner: string, key: string): Promise<CachedResponse | undefined>;
  /** Keeps (or replaces) the answer under (owner, key). */
  put(entry: { owner: string; key: string; provider: string; model: string; response: CachedResponse; bytes: number }): Promise<void>;
}

/**
 * The largest answer kept, as JSON (1 MiB). A bigger one is passed on and not stored: one answer
 * must not push a whole owner's cache out through the size bound, and answers that large are rare
 * (max_tokens bounds them to about 800 KB of text).
 */
export const MAX_CACHED_ANSWER_BYTES = 1024 * 1024;

/** Whether the caller takes `response` as it is; only such answers are worth giving again. */
const taken = (call: ResolvedCall, response: CachedResponse) =>
  response.finish !== 'refusal' && response.finish !== 'length' && call.rejects?.({ ...response }) === undefined;

/**
 * The response cache, outermost in the chain: an identical call of the same owner (same key,
 * src/llm/call-key.ts) is answered from the store, costing no provider slot, no request and no
 * tokens (`via: 'cache'`, usage zero; usage.ts counts it as a cache hit). Only calls made for a task
 * (with `context` and `key`) take part. `cache: 'use'` reads and, on a miss, keeps the answer if the
 * caller takes it; `'refresh'` always calls and replaces; `'off'` neither reads nor writes.
 *
 * The store failing never fails the call: a lookup that fails is a miss, a write that fails is
 * logged and the answer returned (a response Postgres cannot hold, e.g. one with a NUL character,
 * is simply not kept).
 */
export function responseCache(deps: { store: TeacherCacheStore; metrics?: Metrics; log?: Logger }): TeacherMiddleware {
  return (next) => async (call, signal) => {
    const { context, key } = call;
    if (!context || !key || call.cache === 'off') return next(call, signal);
    const provider = call.provider.name;
    if (call.cache === 'use') {
      const hit = await deps.store.get(context.owner, key).catch((err: unknown) => {
        deps.log?.warn({ err, runId: context.runId, taskId: context.taskId }, 'response cache lookup failed; calling the teacher');
        return undefined;
      });
      // An answer this caller would send back (its check differs from the one that kept it) is a miss.
      if (hit && taken(call, hit)) {
        deps.metrics?.llmCache.inc({ provider, result: 'hit' });
        return { ...hit, usage: { input: 0, output: 0 }, via: 'cache' };
      }
      deps.metrics?.llmCache.inc({ provider, result: 'miss' });
    }
    const response = await next(call, signal);
    // A batch answer is kept like an online one; `via` says how this call got it, not what it is.
    const { via: _via, ...kept } = response;
    if (!taken(call, kept)) return response;
    const bytes = Buffer.byteLength(JSON.stringify(kept));
    if (bytes > MAX_CACHED_ANSWER_BYTES) return response;
    await deps.store.put({ owner: context.owner, key, provider, model: call.model, response: kept, bytes }).catch((err: unknown) => {
      deps.log?.warn({ err, runId: context.runId, taskId: context.taskId }, 'response cache write failed; the answer is not kept');
    });
    return response;
  };
}
