import { sql } from 'drizzle-orm';
import type { CachedResponse, TeacherCacheStore } from '../src/llm/cache.js';
import { rows, type Executor } from './client.js';

// The response cache's SQL (src/llm/cache.ts keeps answers through `teacherCacheStore`). Every
// statement names the owner: one API key never reads, counts or deletes another's answers.

/** `ttlDays` 0: answers never expire (the size bound still evicts). */
export function teacherCacheStore(ex: Executor, bounds: { ttlDays: number }): TeacherCacheStore {
  return {
    async get(owner, key) {
      // One statement finds the answer and counts the hit; an expired one is left for eviction.
      const [row] = await rows<{ response: CachedResponse }>(
        ex,
        sql`update teacher_cache set hits = hits + 1, last_used_at = now()
             where owner = ${owner} and key = ${key} and ${unexpired(bounds.ttlDays)}
         returning response`,
      );
      return row?.response;
    },
    async put(e) {
      await ex.execute(sql`insert into teacher_cache (owner, key, provider, model, response, bytes)
        values (${e.owner}, ${e.key}, ${e.provider}, ${e.model}, ${JSON.stringify(e.response)}::jsonb, ${e.bytes})
        on conflict (owner, key) do update set provider = excluded.provider, model = excluded.model, response = excluded.response,
          bytes = excluded.bytes, created_at = now(), last_used_at = now(), hits = 0`);
    },
  };
}

const unexpired = (ttlDays: number) => (ttlDays > 0 ? sql`created_at > now() - ${ttlDays} * interval '1 day'` : sql`true`);

export interface CacheGroupStats {
  provider: string;
  model: string;
  entries: number;
  bytes: number;
  hits: number;
}

export interface CacheStats {
  entries: number;
  bytes: number;
  hits: number;
  oldest: string | null;
  newest: string | null;
  by_model: CacheGroupStats[];
}

/** What `owner` has in the cache: totals, the oldest and newest answer, and the same per provider and model. */
export async function cacheStats(ex: Executor, owner: string): Promise<CacheStats> {
  const [total] = await rows<{ entries: number; bytes: number; hits: number; oldest: Date | string | null; newest: Date | string | null }>(
    ex,
    sql`select count(*)::float8 as entries, coalesce(sum(bytes), 0)::float8 as bytes, coalesce(sum(hits), 0)::float8 as hits,
               min(created_at) as oldest, max(created_at) as newest
          from teacher_cache where owner = ${owner}`,
  );
  const groups = await rows<CacheGroupStats>(
    ex,
    sql`select provider, model, count(*)::float8 as entries, sum(bytes)::float8 as bytes, sum(hits)::float8 as hits
          from teacher_cache where owner = ${owner} group by provider, model order by provider, model`,
  );
  return {
    entries: Number(total.entries),
    bytes: Number(total.bytes),
    hits: Number(total.hits),
    oldest: iso(total.oldest),
    newest: iso(total.newest),
    by_model: groups.map((g) => ({ provider: g.provider, model: g.model, entries: Number(g.entries), bytes: Number(g.bytes), hits: Number(g.hits) })),
  };
}

const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());

/** Deletes `owner`'s answers, all or those of a provider, a model, or kept before a time; returns how many. */
export async function deleteCached(ex: Executor, owner: string, filter: { provider?: string; model?: string; olderThan?: Date }): Promise<number> {
  const deleted = await rows<{ n: number }>(
    ex,
    sql`with gone as (
          delete from teacher_cache where owner = ${owner}
            ${filter.provider !== undefined ? sql`and provider = ${filter.provider}` : sql``}
            ${filter.model !== undefined ? sql`and model = ${filter.model}` : sql``}
            ${filter.olderThan !== undefined ? sql`and created_at < ${filter.olderThan.toISOString()}::timestamptz` : sql``}
          returning 1
        ) select count(*)::float8 as n from gone`,
  );
  return Number(deleted[0].n);
}
