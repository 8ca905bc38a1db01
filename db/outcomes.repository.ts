import { sql } from 'drizzle-orm';
import { rows, type Db, type Tx } from './client.js';
import { appendEvents, type NewEvent } from './events.repository.js';
import { progressOf } from './progress.js';
import { CANCEL_CHANNEL, EVENTS_CHANNEL, TASKS_CHANNEL, idList, type Outcome, type TaskFailure, type Usage } from './queue.repository.js';
import type { CommitHooks } from './run-hooks.js';
import { records as recordsTable, tasks as tasksTable } from './schema/index.js';
import { describeStorageError, isTransientStorageError } from './storage-errors.js';

interface RunLock {
  id: string;
  kind: string;
  status: string;
  dataset_id: string | null;
  rejected_dataset_id: string | null;
  parent_run_id: string | null;
  stage: number | null;
}

type Retry = Extract<Outcome, { type: 'retry' }>;
type Failure = Extract<Outcome, { type: 'failed' | 'fatal' }>;

/**
 * Commit a batch of outcomes in one transaction: a task's records, its events, its completion and
 * the run's counters land together or not at all. Batching amortises the commit (and fsync) over
 * many tasks, which is what lets one worker keep 64+ LLM calls in flight. A run that ends here is
 * handed to `hooks.runEnded` in the same transaction (a pipeline's stage moves its pipeline on).
 */
export async function commitOutcomes(db: Db, workerId: string, outcomes: Outcome[], hooks: CommitHooks = {}): Promise<void> {
  if (outcomes.length === 0) return;
  await db.transaction(async (tx) => {
    const runIds = [...new Set(outcomes.map((o) => o.task.run_id))].sort();
    // Lock the runs first, always in id order, so concurrent committers cannot deadlock and a
    // cancel either fully precedes or fully follows this batch.
    const locked = await lockRuns(tx, runIds);

    const ids = outcomes.map((o) => o.task.id);
    const owned = new Set(
      (
        await rows<{ id: number }>(
          tx,
          sql`select id::int as id from tasks where id = any(${idList(ids)})
               and worker_id = ${workerId} and status = 'running' for update`,
        )
      ).map((r) => r.id),
    );

    for (const runId of runIds) {
      // A task reaped from under us was re-queued for someone else: its outcome is dropped, not doubled.
      const mine = outcomes.filter((o) => o.task.run_id === runId && owned.has(o.task.id));
      if (mine.length === 0) continue;
      const lock = locked.find((r) => r.id === runId);
      if (lock) await commitRunIsolated(tx, lock, mine, hooks);
    }
    for (const runId of runIds) await tx.execute(sql`select pg_notify(${EVENTS_CHANNEL}, ${runId})`);
  });
}

async function lockRuns(tx: Tx, runIds: string[]): Promise<RunLock[]> {
  return rows<RunLock>(
    tx,
    sql`select id, kind, status, output->>'dataset_id' as dataset_id, output->>'rejected_dataset_id' as rejected_dataset_id, parent_run_id, stage from runs
         where id = any(${sql.param(runIds)}::text[]) order by id for update`,
  );
}

/**
 * A run's outcomes commit under a savepoint of their own, so outcomes that cannot be stored roll
 * back alone and never hold up other runs (other tenants' work) in the same batch. One savepoint
 * per run per batch keeps the hot path cheap; only after a failure are the run's outcomes tried
 * one by one, and those that still fail fail their task with category `storage`.
 */
async function commitRunIsolated(tx: Tx, run: RunLock, outcomes: Outcome[], hooks: CommitHooks): Promise<void> {
  try {
    await tx.transaction((sp) => commitRunOutcomes(sp, run, outcomes, hooks));
    return;
  } catch (err) {
    // A lost connection or a deadlock says nothing about the data: the whole batch is tried again.
    if (isTransientStorageError(err)) throw err;
  }
  const gone = await missingDatasets(tx, outcomes);
  for (const o of outcomes) {
    // An outcome before this one may have ended the run (a fatal failure): read its status again.
    const [current] = await lockRuns(tx, [run.id]);
    if (!current) return;
    const lost = o.type === 'succeeded' ? targetDatasets([o]).find((id) => gone.has(id)) : undefined;
    if (lost) {
      // Every later record of the run would fail the same way: fail the run now, with the reason.
      const message = `dataset ${lost}, which this run writes, no longer exists (it was deleted while the run was in flight); the run cannot finish`;
      await tx.transaction((sp) => commitRunOutcomes(sp, current, [storageFailure(o, message, true)], hooks));
      continue;
    }
    try {
      await tx.transaction((sp) => commitRunOutcomes(sp, current, [o], hooks));
    } catch (err) {
      if (isTransientStorageError(err)) throw err;
      const message = `the task's outcome could not be stored: ${describeStorageError(err)}`;
      await tx.transaction((sp) => commitRunOutcomes(sp, current, [storageFailure(o, message, false)], hooks));
    }
  }
}

function storageFailure(o: Outcome, message: string, fatal: boolean): Outcome {
  return { type: fatal ? 'fatal' : 'failed', task: o.task, error: { category: 'storage', message }, usage: o.usage };
}

function targetDatasets(outcomes: Outcome[]): string[] {
  const ids = new Set<string>();
  for (const o of outcomes) if (o.type === 'succeeded') for (const r of o.records) ids.add(r.datasetId ?? o.datasetId);
  return [...ids];
}

/** The datasets these outcomes write into that are gone (deleted under a running task). */
async function missingDatasets(tx: Tx, outcomes: Outcome[]): Promise<Set<string>> {
  const wanted = targetDatasets(outcomes);
  if (wanted.length === 0) return new Set();
  const present = await rows<{ id: string }>(tx, sql`select id from datasets where id = any(${sql.param(wanted)}::text[])`);
  const found = new Set(present.map((r) => r.id));
  return new Set(wanted.filter((id) => !found.has(id)));
}

async function commitRunOutcomes(tx: Tx, run: RunLock, outcomes: Outcome[], hooks: CommitHooks): Promise<void> {
  const { id: runId, status, dataset_id: primaryDataset } = run;
  const usage = sumUsage(outcomes.map((o) => o.usage));
  if (status !== 'running' && status !== 'queued') {
    // The run was canceled or failed while these were in flight: keep the spend, drop the work.
    await setTaskStatus(tx, outcomes.map((o) => o.task.id), 'canceled');
    await tx.execute(sql`update runs set requests = requests + ${usage.requests}, input_tokens = input_tokens + ${usage.input_tokens},
      output_tokens = output_tokens + ${usage.output_tokens}, cost_usd = cost_usd + ${usage.cost_usd} where id = ${runId}`);
    return;
  }
  const aborted = outcomes.filter((o) => o.type === 'aborted').map((o) => o.task.id);
  if (aborted.length > 0) {
    // Aborted by a cancel that a retry has since superseded: back to the queue, the attempt not charged.
    await tx.execute(sql`update tasks set status = 'queued', worker_id = null, lease_until = null, run_at = now(),
      attempts = greatest(attempts - 1, 0), updated_at = now() where id = any(${idList(aborted)})`);
    await tx.execute(sql`select pg_notify(${TASKS_CHANNEL}, '')`);
  }
  const events: NewEvent[] = [];
  const succeeded = outcomes.filter((o): o is Extract<Outcome, { type: 'succeeded' }> => o.type === 'succeeded');
  const inserted = await insertRecords(tx, succeeded);
  const ts = Date.now();
  // A run's records are what it wrote anywhere but its rejected set (curate, knowledge flows).
  let insertedKept = 0;
  for (const o of succeeded) {
    for (const r of o.records) {
      const datasetId = r.datasetId ?? o.datasetId;
      if (!inserted.has(`${datasetId}\u0000${r.key}`)) continue;
      if (datasetId !== run.rejected_dataset_id) insertedKept++;
      events.push({ type: 'record.created', data: { task: o.task.key, key: r.key, ...(datasetId !== primaryDataset ? { dataset_id: datasetId } : {}), record: r.data, ts } });
    }
  }
  const spawned = await spawnTasks(tx, runId, succeeded.flatMap((o) => o.spawn ?? []));
  for (const o of succeeded) {
    if (o.events) events.push(...o.events);
    if (o.output) await tx.execute(sql`update runs set output = output || ${JSON.stringify(o.output)}::jsonb where id = ${runId}`);
  }
  if (succeeded.length > 0) {
    await tx.execute(sql`update tasks set status = 'succeeded', lease_until = null, last_error = null, updated_at = now()
      where id = any(${idList(succeeded.map((o) => o.task.id))})`);
  }
  const retries: Retry[] = [];
  const failures: Failure[] = [];
  let fatal: TaskFailure | undefined;
  for (const o of outcomes) {
    if (o.type === 'retry') {
      retries.push(o);
      events.push({ type: 'task.retrying', data: { task: o.task.key, attempt: o.task.attempts, delay_ms: o.delayMs, error: o.error } });
    } else if (o.type === 'failed' || o.type === 'fatal') {
      failures.push(o);
      if (o.type === 'fatal') fatal = o.error;
      events.push({ type: 'record.failed', data: { task: o.task.key, attempts: o.task.attempts, ...o.error } });
    }
  }
  await requeueRetries(tx, retries);
  await failTasks(tx, failures);
  const done = succeeded.length;
  const failed = failures.length;

  const [counters] = await rows<{ total: number; done: number; failed: number; records: number; input_tokens: number; output_tokens: number; cost_usd: number; started_at: Date }>(
    tx,
    sql`update runs set done = done + ${done}, failed = failed + ${failed}, records = records + ${insertedKept}, total = total + ${spawned},
        requests = requests + ${usage.requests}, input_tokens = input_tokens + ${usage.input_tokens},
        output_tokens = output_tokens + ${usage.output_tokens}, cost_usd = cost_usd + ${usage.cost_usd}
      where id = ${runId}
      returning total, done, failed, records, input_tokens, output_tokens, cost_usd, started_at`,
  );
  events.push({ type: 'progress', data: progressOf(counters) });
  let ended: 'succeeded' | 'failed' | undefined;

  if (fatal) {
    await tx.execute(sql`update tasks set status = 'canceled', updated_at = now() where run_id = ${runId} and status = 'queued'`);
    events.push({ type: 'run.failed', data: { error: fatal } });
    await tx.execute(sql`update runs set status = 'failed', finished_at = now(), error = ${JSON.stringify(fatal)}::jsonb where id = ${runId}`);
    await tx.execute(sql`select pg_notify(${CANCEL_CHANNEL}, ${runId})`);
    ended = 'failed';
  } else if (counters.done + counters.failed >= counters.total) {
    const outcome = counters.failed > 0 ? 'failed' : 'succeeded';
    const error =
      counters.failed > 0
        ? { category: 'tasks_failed', message: `${counters.failed} of ${counters.total} tasks failed; the dataset keeps the ${counters.records} records that succeeded. POST /v1/runs/${runId}/retry re-runs only the failed tasks.` }
        : null;
    events.push({ type: `run.${outcome}`, data: { progress: progressOf(counters), error } });
    await tx.execute(sql`update runs set status = ${outcome}, finished_at = now(), error = ${error ? JSON.stringify(error) : null}::jsonb where id = ${runId}`);
    ended = outcome;
  }
  await appendEvents(tx, runId, events);
  if (ended) await hooks.runEnded?.(tx, { id: runId, kind: run.kind, parent_run_id: run.parent_run_id, stage: run.stage }, ended);
}

/**
 * A batch's retries in one statement, as graphile-worker's failJobs does: ids, delays and errors
 * go as three arrays unnested side by side, however many tasks the batch retries.
 */
async function requeueRetries(tx: Tx, retries: Retry[]): Promise<void> {
  if (retries.length === 0) return;
  await tx.execute(sql`update tasks t set status = 'queued', worker_id = null, lease_until = null,
      run_at = now() + make_interval(secs => r.delay_s), last_error = r.error::jsonb, updated_at = now()
    from unnest(${idList(retries.map((o) => o.task.id))}, ${sql.param(retries.map((o) => o.delayMs / 1000))}::float8[],
                ${sql.param(retries.map((o) => JSON.stringify(o.error)))}::text[]) as r(id, delay_s, error)
   where t.id = r.id`);
}

/** A batch's final failures (and fatal ones) in one statement, each task with its own error. */
async function failTasks(tx: Tx, failures: Failure[]): Promise<void> {
  if (failures.length === 0) return;
  await tx.execute(sql`update tasks t set status = 'failed', lease_until = null, last_error = r.error::jsonb, updated_at = now()
    from unnest(${idList(failures.map((o) => o.task.id))}, ${sql.param(failures.map((o) => JSON.stringify(o.error)))}::text[]) as r(id, error)
   where t.id = r.id`);
}

/** Inserts follow-up tasks; returns how many are new (a redone task's spawns already exist). */
async function spawnTasks(tx: Tx, runId: string, spawn: Array<{ key: string; kind: string; payload: unknown; maxAttempts?: number }>): Promise<number> {
  if (spawn.length === 0) return 0;
  const fresh = await tx
    .insert(tasksTable)
    .values(spawn.map((t) => ({ runId, key: t.key, kind: t.kind, payload: t.payload, maxAttempts: t.maxAttempts ?? 3 })))
    .onConflictDoNothing()
    .returning({ id: tasksTable.id });
  if (fresh.length > 0) await tx.execute(sql`select pg_notify(${TASKS_CHANNEL}, '')`);
  return fresh.length;
}

const RECORD_INSERT_CHUNK = 1000;

/**
 * One multi-row insert per chunk for the whole batch. Keys already present (a task redone after a
 * lost lease) are skipped by the unique index; the returned set says which records are new.
 */
async function insertRecords(tx: Tx, succeeded: Array<Extract<Outcome, { type: 'succeeded' }>>): Promise<Set<string>> {
  const values = succeeded.flatMap((o) => o.records.map((r) => ({ datasetId: r.datasetId ?? o.datasetId, key: r.key, data: r.data })));
  const inserted = new Set<string>();
  const perDataset = new Map<string, number>();
  for (let i = 0; i < values.length; i += RECORD_INSERT_CHUNK) {
    const fresh = await tx
      .insert(recordsTable)
      .values(values.slice(i, i + RECORD_INSERT_CHUNK))
      .onConflictDoNothing()
      .returning({ datasetId: recordsTable.datasetId, key: recordsTable.key });
    for (const r of fresh) {
      inserted.add(`${r.datasetId}\u0000${r.key}`);
      perDataset.set(r.datasetId, (perDataset.get(r.datasetId) ?? 0) + 1);
    }
  }
  for (const [datasetId, n] of perDataset) await tx.execute(sql`update datasets set record_count = record_count + ${n} where id = ${datasetId}`);
  return inserted;
}

async function setTaskStatus(tx: Tx, ids: number[], status: string): Promise<void> {
  await tx.execute(sql`update tasks set status = ${status}, lease_until = null, updated_at = now()
    where id = any(${idList(ids)})`);
}

function sumUsage(list: Usage[]): Usage {
  const total = { requests: 0, input_tokens: 0, output_tokens: 0, cost_usd: 0 };
  for (const u of list) {
    total.requests += u.requests;
    total.input_tokens += u.input_tokens;
    total.output_tokens += u.output_tokens;
    total.cost_usd += u.cost_usd;
  }
  return total;
}
