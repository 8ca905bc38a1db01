import { sql, type SQL } from 'drizzle-orm';
import { rows, type Executor } from './client.js';

// The bounds of what every owner fills without asking: teacher answers (teacher_cache), record
// embeddings (embeddings) and the files of export runs (export_files). Each is cut to a TTL and a
// total size, by the maintenance loop (db/maintenance.ts startEviction). The size is summed over the whole table each pass: a
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

export interface EvictedExports extends Evicted {
  /** Exports whose run was canceled or failed: their files were never a complete set. */
  discarded: number;
}

/**
 * The files of export runs, a whole export at a time (a folder missing shards is worse than none):
 * first those of runs that were canceled or failed, then exports written (their newest file) more
 * than the TTL ago, then the oldest until the rest fits in maxBytes. The files of a queued or
 * running export count towards the total but are never cut; a succeeded export left with no files
 * is how GET /v1/exports/{id} knows they expired (the card is always written). Counts exports.
 */
export async function evictExportFiles(ex: Executor, bounds: CacheBounds): Promise<EvictedExports> {
  const discarded = await dropExports(
    ex,
    sql`select f.run_id from export_files f left join runs r on r.id = f.run_id where r.id is null or r.status in ('canceled', 'failed') group by f.run_id`,
  );
  const expired =
    bounds.ttlDays > 0
      ? await dropExports(
          ex,
          sql`select f.run_id from export_files f join runs r on r.id = f.run_id and r.status = 'succeeded'
               group by f.run_id having max(f.created_at) < now() - ${bounds.ttlDays} * interval '1 day'`,
        )
      : 0;
  const evicted = await dropExports(
    ex,
    // Finished exports first in the running total: the bytes of one still writing are counted, never cut.
    sql`select run_id from (
          select e.run_id, e.size, e.done, sum(e.size) over (order by e.done desc, e.written, e.run_id) as upto, sum(e.size) over () as total
            from (select f.run_id, sum(f.bytes)::float8 as size, max(f.created_at) as written, min(r.status) = 'succeeded' as done
                    from export_files f join runs r on r.id = f.run_id group by f.run_id) e
        ) x
         where x.done and x.total > ${bounds.maxBytes} and x.upto - x.size < x.total - ${bounds.maxBytes}`,
  );
  return { discarded, expired, evicted };
}

async function dropExports(ex: Executor, victims: SQL): Promise<number> {
  const [row] = await rows<{ n: number }>(
    ex,
    sql`with victims as (${victims}), gone as (delete from export_files f using victims v where f.run_id = v.run_id returning f.run_id)
        select count(distinct run_id)::float8 as n from gone`,
  );
  return Number(row.n);
}
