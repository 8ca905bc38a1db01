import { sql } from 'drizzle-orm';
import type { CachedResponse, TeacherCacheStore } from '../src/llm/cache.js';
import { rows, type Executor } from './client.js';
import { groupedLoader } from './grouped-loader.js';

// The response cache's SQL (src/llm/cache.ts keeps answers through `teacherCacheStore`). Every
// statement names the owner: one API key never reads, counts or deletes another's answers.

/** The most lookups or writes one statement carries. */
export const CACHE_STATEMENT_BATCH = 256;

type Entry = Parameters<TeacherCacheStore['put']>[0];
const entryKey = (owner: string, key: string) => `${owner}\u0000${key}`;

/**
 * `ttlDays` 0: answers never expire (the size bound still evicts).
 *
 * Every teacher call of a task looks its answer up and keeps it: as a statement each, that was
 * two Postgres transactions per call, several times what the call's commit costs. Lookups and
 * writes are grouped instead (db/grouped-loader.ts): those that come while one statement runs go
 * together as the next, so under load a statement carries many calls and alone a call waits for none.
 */
export function teacherCacheStore(ex: Executor, bounds: { ttlDays: number }): TeacherCacheStore {
  const lookups = groupedLoader<{ owner: string; key: string }, CachedResponse | undefined>((wanted) => lookUp(ex, bounds.ttlDays, wanted), CACHE_STATEMENT_BATCH);
  // A write Postgres refused comes back as its Error, which rejects that put alone.
  const writes = groupedLoader<Entry, undefined>((entries) => keep(ex, entries), CACHE_STATEMENT_BATCH);
  return {
    get: (owner, key) => lookups.load({ owner, key }),
    put: (entry) => writes.load(entry),
  };
}

/** One statement finds the answers and counts the hits; an expired one is left for eviction. */
async function lookUp(ex: Executor, ttlDays: number, wanted: ReadonlyArray<{ owner: string; key: string }>) {
  // Each key is sought through the primary key (a lateral `limit 1`), a plan that holds on a table without statistics.
  const found = await rows<{ owner: string; key: string; response: CachedResponse }>(
    ex,
    sql`with hit as (
          select distinct c.owner, c.key from unnest(${sql.param(wanted.map((w) => w.owner))}::text[], ${sql.param(wanted.map((w) => w.key))}::text[]) as w(owner, key)
          cross join lateral (select owner, key from teacher_cache where owner = w.owner and key = w.key and ${unexpired(ttlDays)} limit 1) c
        )
        update teacher_cache t set hits = t.hits + 1, last_used_at = now()
          from hit where t.owner = hit.owner and t.key = hit.key
        returning t.owner, t.key, t.response`,
  );
  const byKey = new Map(found.map((r) => [entryKey(r.owner, r.key), r.response]));
  return wanted.map((w) => byKey.get(entryKey(w.owner, w.key)));
}

/**
 * One statement keeps the answers (the last of one key wins). If Postgres refuses it (an answer
 * it cannot hold, e.g. with a NUL character), each is tried alone, so only that one is not kept.
 */
async function keep(ex: Executor, entries: readonly Entry[]): Promise<Array<Error | undefined>> {
  const last = [...new Map(entries.map((e) => [entryKey(e.owner, e.key), e])).values()];
  try {
    await insert(ex, last);
    return entries.map(() => undefined);
  } catch {
    const failures = new Map<string, Error>();
    for (const e of last) await insert(ex, [e]).catch((err: unknown) => failures.set(entryKey(e.owner, e.key), err instanceof Error ? err : new Error(String(err))));
    return entries.map((e) => failures.get(entryKey(e.owner, e.key)));
  }
}

function insert(ex: Executor, entries: Entry[]) {
  const column = <T>(f: (e: Entry) => T) => sql.param(entries.map(f));
  return ex.execute(sql`insert into teacher_cache (owner, key, provider, model, response, bytes)
    select v.owner, v.key, v.provider, v.model, v.response::jsonb, v.bytes
      from unnest(${column((e) => e.owner)}::text[], ${column((e) => e.key)}::text[], ${column((e) => e.provider)}::text[],
                  ${column((e) => e.model)}::text[], ${column((e) => JSON.stringify(e.response))}::text[], ${column((e) => e.bytes)}::int[])
           as v(owner, key, provider, model, response, bytes)
    on conflict (owner, key) do update set provider = excluded.provider, model = excluded.model, response = excluded.response,
      bytes = excluded.bytes, created_at = now(), last_used_at = now(), hits = 0`);
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
