import type { Database } from '../../db/client.js';
import { cacheStats, deleteCached } from '../../db/teacher-cache.repository.js';
import { MAX_CACHED_ANSWER_BYTES } from '../../src/llm/cache.js';

/** The service's cache bounds (src/config.ts `caches`): what GET /v1/cache shows beside the caller's figures. */
export interface CacheBoundsConfig {
  teacherCache: { ttlDays: number; maxBytes: number };
  embeddings: { ttlDays: number; maxBytes: number };
}

export interface CacheDeps {
  database: Pick<Database, 'db'>;
  caches: CacheBoundsConfig;
}

/** The caller's response cache, and the bounds every owner's entries share. */
export async function cacheView(deps: CacheDeps, owner: string) {
  const stats = await cacheStats(deps.database.db, owner);
  const { teacherCache, embeddings } = deps.caches;
  return {
    ...stats,
    bounds: {
      ttl_days: teacherCache.ttlDays,
      max_bytes: teacherCache.maxBytes,
      max_entry_bytes: MAX_CACHED_ANSWER_BYTES,
      embeddings: { ttl_days: embeddings.ttlDays, max_bytes: embeddings.maxBytes },
    },
  };
}

/** Deletes the caller's cached answers (all, or those matching every filter given); returns how many. */
export async function clearCache(deps: Pick<CacheDeps, 'database'>, owner: string, filter: { provider?: string; model?: string; older_than?: string }) {
  const deleted = await deleteCached(deps.database.db, owner, {
    provider: filter.provider,
    model: filter.model,
    olderThan: filter.older_than === undefined ? undefined : new Date(filter.older_than),
  });
  return { deleted };
}
