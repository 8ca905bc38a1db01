import { sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import { rows, type Database, type Executor } from './client.js';
import { evictEmbeddings, evictExportFiles, evictTeacherCache, type CacheBounds } from './eviction.js';

// The planner's statistics, kept fresh. A dataset's page query (records of a dataset after an id,
// by id) is an index scan only while the planner knows how many records there are; with the
// statistics of a near-empty table it reads every later record and sorts them for each page of
// 500, so an export of 50,000 records waited 2 s for its first byte and its whole stream grew with
// the square of its size. Postgres's autovacuum refreshes statistics within a minute of a big
// write, but not before the first export after an import; PGlite has no autovacuum at all.

/** Tables whose statistics steer the hot queries. */
const TABLES = ['records', 'tasks', 'run_events', 'runs', 'datasets'] as const;
/** Autovacuum's own rule: analyze a table once this many rows plus this share of it have changed. */
const THRESHOLD = { rows: 50, share: 0.1 };
/** How often the embedded database's statistics are looked at. */
const EVERY_MS = 30_000;

/**
 * Analyzes each of `tables` whose rows changed by more than autovacuum's threshold since it was
 * last analyzed (as the statistics views count them); returns the tables analyzed. ANALYZE reads a
 * sample of at most 30,000 rows, however large the table.
 */
export async function analyzeStale(ex: Executor, tables: readonly string[] = TABLES): Promise<string[]> {
  const stale = await rows<{ relname: string }>(
    ex,
    sql`select relname from pg_stat_user_tables
         where schemaname = current_schema() and relname = any(${sql.param([...tables])}::text[])
           and n_mod_since_analyze > ${sql.raw(String(THRESHOLD.rows))} + ${sql.raw(String(THRESHOLD.share))} * n_live_tup`,
  );
  for (const { relname } of stale) await ex.execute(sql`analyze ${sql.identifier(relname)}`);
  return stale.map((t) => t.relname);
}

/** After a bulk write: the table's statistics now, not when autovacuum next looks (Postgres) or never (PGlite). */
export async function analyzeNow(ex: Executor, table: (typeof TABLES)[number]): Promise<void> {
  await ex.execute(sql`analyze ${sql.identifier(table)}`);
}

/**
 * The embedded database's autovacuum-analyze: every 30 s, the tables that changed enough are
 * analyzed. Each ANALYZE runs on the event loop (as every PGlite statement does) for a bounded
 * time (~0.3 s for a sample of 30,000 rows). Returns the stop.
 */
export function startAutoAnalyze(database: Database, log: Logger, everyMs = EVERY_MS): () => void {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    analyzeStale(database.db)
      .then((analyzed) => analyzed.length > 0 && log.debug({ analyzed }, 'refreshed planner statistics'))
      .catch((err) => log.warn({ err }, 'refreshing planner statistics failed; trying again later'))
      .finally(() => (running = false));
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}

/** How often the caches are cut to their bounds (db/eviction.ts). */
const EVICT_EVERY_MS = 5 * 60_000;

/** What startEviction bounds; `exportFiles` absent: export files are kept. */
export interface EvictionBounds {
  teacherCache: CacheBounds;
  embeddings: CacheBounds;
  exportFiles?: CacheBounds;
}

const none = { discarded: 0, expired: 0, evicted: 0 };

/**
 * The caches' bounds, kept on every database (each process runs it; two passes at once delete the
 * same rows, which is harmless): the response cache, the embeddings and the export files, each to
 * its TTL and size. Runs every `everyMs` (the first pass too: a start is no reason to scan).
 * Returns the stop.
 */
export function startEviction(database: Database, log: Logger, bounds: EvictionBounds, everyMs = EVICT_EVERY_MS): () => void {
  let running = false;
  const pass = () => {
    if (running) return;
    running = true;
    Promise.all([
      evictTeacherCache(database.db, bounds.teacherCache),
      evictEmbeddings(database.db, bounds.embeddings),
      bounds.exportFiles ? evictExportFiles(database.db, bounds.exportFiles) : none,
    ])
      .then(([answers, vectors, exports]) => {
        const cut = answers.expired + answers.evicted + vectors.expired + vectors.evicted + exports.discarded + exports.expired + exports.evicted;
        if (cut > 0) log.info({ teacher_cache: answers, embeddings: vectors, export_files: exports }, 'evicted cache entries');
      })
      .catch((err) => log.warn({ err }, 'evicting cache entries failed; trying again later'))
      .finally(() => (running = false));
  };
  const timer = setInterval(pass, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
