import { sql, type SQL } from 'drizzle-orm';
import { rows, type Executor } from './client.js';

// The bounds of the two caches every owner fills without asking: teacher answers (teacher_cache)
// and record embeddings (embeddings). Each is cut to a TTL and a total size, by the maintenance
// loop (db/maintenance.ts startEviction). The size is summed over the whole table each pass: a
// scan of one narrow column (about 100 ms per million rows on Postgres), so passes are minutes apart.

/** ttlDays 0: no age limit. maxBytes: the table's total, summed as `bytes` says. */
export interface CacheBounds {
  ttlDays: number;
  maxBytes: number;
}

export interface Evicted {
  expired: number;
  evicted: number;
}

/** Answers older than the TTL, then the least recently used until the rest fits in maxBytes. */
export function evictTeacherCache(ex: Executor, bounds: CacheBounds): Promise<Evicted> {
  return evict(ex, bounds, { table: sql`teacher_cache`, keys: ['owner', 'key'], bytes: sql`bytes`, order: sql`last_used_at, owner, key` });
}

/**
 * Embeddings older than the TTL, then the oldest until the rest fits in maxBytes. A vector's size is
 * its dims × 4 bytes (float32); keys and row overhead are not counted. Embeddings keep no last use
 * (a read is many thousand rows at once, and touching them would turn every read into a write), so
 * the oldest go first.
 */
export function evictEmbeddings(ex: Executor, bounds: CacheBounds): Promise<Evicted> {
  return evict(ex, bounds, { table: sql`embeddings`, keys: ['owner', 'model_key', 'text_hash'], bytes: sql`dims * 4`, order: sql`created_at, owner, model_key, text_hash` });
}

async function evict(ex: Executor, bounds: CacheBounds, t: { table: SQL; keys: string[]; bytes: SQL; order: SQL }): Promise<Evicted> {
  let expired = 0;
  if (bounds.ttlDays > 0) {
    const [row] = await rows<{ n: number }>(
      ex,
      sql`with gone as (delete from ${t.table} where created_at < now() - ${bounds.ttlDays} * interval '1 day' returning 1) select count(*)::float8 as n from gone`,
    );
    expired = Number(row.n);
  }
  const keys = sql.raw(t.keys.join(', '));
  const match = sql.raw(t.keys.map((k) => `c.${k} = v.${k}`).join(' and '));
  // The oldest-ordered rows whose running total stays below the excess: the fewest that bring the table under the bound.
  const [row] = await rows<{ n: number }>(
    ex,
    sql`with total as (select coalesce(sum(${t.bytes}), 0)::float8 as n from ${t.table}),
        victims as (
          select ${keys} from (
            select ${keys}, ${t.bytes} as size, sum(${t.bytes}) over (order by ${t.order}) as upto from ${t.table}
             where (select n from total) > ${bounds.maxBytes}
          ) x
           where x.upto - x.size < (select n from total) - ${bounds.maxBytes}
        ),
        gone as (delete from ${t.table} c using victims v where ${match} returning 1)
        select count(*)::float8 as n from gone`,
  );
  return { expired, evicted: Number(row.n) };
}
