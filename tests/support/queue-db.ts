import { sql } from 'drizzle-orm';
import { openDatabase, rows, type Database } from '../../db/client.js';
import type { ClaimedTask, Outcome, Usage } from '../../db/queue.repository.js';
import { runCounts } from '../../db/counters.js';
import { sequenceEvents } from '../../db/events.repository.js';
import { insertRun } from '../../db/runs.repository.js';
import { newId } from '../../src/ids.js';
import { createPostgresDatabase } from './databases.js';

/**
 * A fresh database for medium queue tests (the db/ functions called directly, no HTTP, no worker).
 * `reset()` empties it between tests, since a claim takes tasks of every run.
 */
export async function openQueueDatabase(db: 'pglite' | 'postgres', poolSize = 10) {
  const pg = db === 'postgres' ? await createPostgresDatabase() : undefined;
  const sut: Database = await openDatabase(pg ? { databaseUrl: pg.url, poolSize } : { dataDir: 'memory://' });
  return {
    sut,
    async reset() {
      await sut.db.execute(sql`truncate runs, tasks, run_events, run_counters, records, datasets, dataset_counts, topics`);
    },
    async close() {
      await sut.close();
      await pg?.drop();
    },
  };
}

/** Plans a run of `tasks` tasks through the real repository: its tasks are claimed in key order t0, t1, … */
export async function planRun(sut: Database, owner: string, tasks: number, options: { cap?: number; maxAttempts?: number; kind?: string; parent?: { runId: string; stage: number } } = {}) {
  const id = newId('run');
  const datasetId = newId('ds');
  await insertRun(sut.db, {
    id, owner, kind: options.kind ?? 'generate', spec: {}, output: { dataset_id: datasetId }, datasets: [{ id: datasetId, name: `${owner} dataset` }],
    maxConcurrency: options.cap, parent: options.parent,
    tasks: Array.from({ length: tasks }, (_, i) => ({ key: `t${i}`, kind: 'test', payload: {}, maxAttempts: options.maxAttempts })),
  });
  return { id, datasetId };
}

export const usage = (requests = 1): Usage => ({ requests, input_tokens: 10 * requests, output_tokens: 5 * requests, cost_usd: 0.001 * requests, cache_hits: 0 });

export const succeeded = (task: ClaimedTask, datasetId: string, records = 1): Outcome => ({
  type: 'succeeded', task, datasetId, usage: usage(),
  records: Array.from({ length: records }, (_, i) => ({ key: `${task.key}#${i}`, data: { question: `q ${task.key}`, answer: `a ${i}` } })),
});

/** A run's status, error and counters (its row's plus every writer's, as the service reads them). */
export const runRow = async (sut: Database, id: string) => {
  const [row] = await rows<{ status: string; error: any }>(sut.db, sql`select status, error from runs where id = ${id}`);
  return row && { ...row, ...(await runCounts(sut.db, id)) };
};

export const tasksOf = (sut: Database, runId: string) =>
  rows<{ key: string; status: string; attempts: number; worker_id: string | null; last_error: any; due_in_s: number }>(
    sut.db,
    sql`select key, status, attempts, worker_id, last_error, extract(epoch from run_at - now())::float8 as due_in_s from tasks where run_id = ${runId} order by id`,
  );

export const eventTypes = async (sut: Database, runId: string) =>
  (await sequenceEvents(sut.db, runId, true), await rows<{ type: string }>(sut.db, sql`select type from run_events where run_id = ${runId} order by seq`)).map((e) => e.type);

/** Tasks each owner (or run) has running now. */
export async function runningBy(sut: Database, by: 'owner' | 'run'): Promise<Record<string, number>> {
  const counted = await rows<{ k: string; n: number }>(
    sut.db,
    by === 'owner'
      ? sql`select r.owner as k, count(*)::int as n from tasks t join runs r on r.id = t.run_id where t.status = 'running' group by r.owner`
      : sql`select t.run_id as k, count(*)::int as n from tasks t where t.status = 'running' group by t.run_id`,
  );
  return Object.fromEntries(counted.map((c) => [c.k, c.n]));
}
