import { sql } from 'drizzle-orm';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rows, type Database } from '../db/client.js';
import { createDataset, createDatasetFrom, type ImportBatch } from '../db/datasets.repository.js';
import { analyzeStale, startAutoAnalyze } from '../db/maintenance.js';
import { DATABASES } from './support/databases.js';
import { openQueueDatabase } from './support/queue-db.js';

// A dataset's pages are read by index only while the planner knows the records table's size: with
// the statistics of an empty table it reads and sorts every later record for each page. A big
// import refreshes them at once; the embedded database, which has no autovacuum, refreshes them itself.

const N = 12_000;
const record = (i: number) => ({ question: `Question ${i}?`, answer: `Answer ${i}.` });

async function* batches(n: number): AsyncGenerator<ImportBatch> {
  for (let at = 0; at < n; at += 1000) {
    const size = Math.min(1000, n - at);
    yield { texts: Array.from({ length: size }, (_, i) => JSON.stringify(record(at + i))), unrenderable: Array(size).fill(null) };
  }
}

/** The plan of a dataset's page query, as export and the records listing send it. */
async function pagePlan(database: Database, datasetId: string): Promise<string> {
  const plan = await rows<{ 'QUERY PLAN': string }>(database.db, sql`explain select id, key, data from records where dataset_id = ${datasetId} and id > 0 order by id limit 500`);
  return plan.map((r) => r['QUERY PLAN']).join('\n');
}

/** Postgres counts changes per backend and publishes them within a second or so; PGlite at once. */
async function eventually<T>(read: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const v = await read();
    if (ok(v) || Date.now() > deadline) return v;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const tableStats = (database: Database) =>
  rows<{ n_mod_since_analyze: string; last_analyze: Date | null; last_autoanalyze: Date | null }>(
    database.db,
    sql`select n_mod_since_analyze, last_analyze, last_autoanalyze from pg_stat_user_tables where schemaname = current_schema() and relname = 'records'`,
  ).then(([row]) => row);

describe.each(DATABASES)('planner statistics on %s', (kind) => {
  let database: Database;
  let q: Awaited<ReturnType<typeof openQueueDatabase>> | undefined;
  beforeAll(async () => {
    q = await openQueueDatabase(kind, 2);
    database = q.sut;
  });
  afterAll(async () => {
    await q?.close();
  });

  it('a big import leaves the records table analyzed: its pages are read by index, not sorted', async () => {
    const row = await createDatasetFrom(database.db, { id: 'ds_import_big', owner: 'o', keyPrefix: 'import#' }, batches(N), () => 'big');
    expect(row.recordCount).toBe(N);
    const stats = await tableStats(database);
    expect(stats.last_analyze ?? stats.last_autoanalyze).not.toBeNull();
    const plan = await pagePlan(database, 'ds_import_big');
    expect(plan, plan).toMatch(/Index Scan using records_(dataset_id|pkey)/);
    expect(plan).not.toMatch(/Sort/);
  });

  it('analyzes a table that changed by more than autovacuum would let pass, and only then', async () => {
    await createDataset(database.db, { id: 'ds_plain', owner: 'o', name: 'plain' }, Array.from({ length: 3000 }, (_, i) => ({ key: `k${i}`, data: record(i) })));
    const changed = await eventually(() => tableStats(database), (s) => Number(s.n_mod_since_analyze) >= 3000);
    expect(Number(changed.n_mod_since_analyze)).toBeGreaterThanOrEqual(3000);
    expect(await analyzeStale(database.db, ['records'])).toEqual(['records']);
    const after = await eventually(() => tableStats(database), (s) => Number(s.n_mod_since_analyze) === 0);
    expect(Number(after.n_mod_since_analyze)).toBe(0);
    expect(await analyzeStale(database.db, ['records'])).toEqual([]);
  });

  it('the embedded database refreshes its statistics by itself as tables change', async () => {
    const stop = startAutoAnalyze(database, pino({ level: 'silent' }), 50);
    try {
      await createDataset(database.db, { id: 'ds_later', owner: 'o', name: 'later' }, Array.from({ length: 3000 }, (_, i) => ({ key: `k${i}`, data: record(i) })));
      const after = await eventually(() => tableStats(database), (s) => Number(s.n_mod_since_analyze) === 0);
      expect(Number(after.n_mod_since_analyze)).toBe(0);
    } finally {
      stop();
    }
  });
});

