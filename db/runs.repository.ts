import { and, desc, eq, sql } from 'drizzle-orm';
import { rows, type Db, type Executor, type Tx } from './client.js';
import { runFields } from './counters.js';
import { appendEvents } from './events.repository.js';
import { admitRun } from './quotas.repository.js';
import type { CommitHooks, RetryResult } from './run-hooks.js';
import { CANCEL_CHANNEL, EVENTS_CHANNEL, TASKS_CHANNEL } from './queue.repository.js';
import { datasets, runs, topics } from './schema/index.js';

export type RunRow = typeof runs.$inferSelect;

export interface NewTask {
  key: string;
  kind: string;
  /** A task kind's payload (services/jobs/task-kind.ts checks it against the kind's schema when planned). */
  payload: Record<string, unknown>;
  maxAttempts?: number;
}

export interface NewRun {
  id: string;
  owner: string;
  kind: string;
  spec: unknown;
  idempotencyKey?: string;
  requestHash?: string;
  output: Record<string, unknown>;
  /** A pipeline's stage run: the pipeline and the stage index. */
  parent?: { runId: string; stage: number };
  /** Tasks the run will have in all, when more are queued later (a pipeline's advances); defaults to tasks.length. */
  total?: number;
  /** Most tasks in flight at once for this run (DeepFabric batch_size). */
  maxConcurrency?: number;
  /** Most the run may cost, USD; null/absent = no budget. */
  maxCostUsd?: number;
  /** Refuse the run (RunQuotaExceeded) when its owner already has this many runs queued or running. */
  maxInFlight?: number;
  /** A topics run: the topics resource its node records form (its dataset is the run's first). */
  topics?: { id: string; mode: string; meta: Record<string, unknown> };
  /** Datasets the run writes into; `output.dataset_id` names the primary one. */
  datasets: Array<{ id: string; name: string; meta?: Record<string, unknown> }>;
  tasks: NewTask[];
  /** Written into each task's payload as `dataset_id`, unless the payload names one. */
  taskDatasetId?: string;
}

/**
 * Tasks per insert statement. Each slice goes as one JSON parameter expanded by
 * jsonb_array_elements (about 3× faster on PGlite than 5 bound parameters a row), and the event loop
 * gets a turn between slices: embedded PGlite runs the statement on it, so a slice is kept to a few
 * ms (bench/planning.bench.ts plans 100,000 tasks this way).
 */
const TASK_INSERT_CHUNK = 250;

/**
 * Creates the run, its output dataset and all its tasks in one transaction, so a run is either
 * fully planned or absent. Returns the existing run when the idempotency key was already used.
 */
export async function insertRun(db: Db, run: NewRun): Promise<{ row: RunRow; created: boolean }> {
  return db.transaction(async (tx) => {
    if (run.idempotencyKey) {
      // Serialise concurrent requests with the same key on a transaction-scoped lock.
      await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${run.owner}), hashtext(${run.idempotencyKey}))`);
      const [existing] = await tx.select(runFields).from(runs).where(and(eq(runs.owner, run.owner), eq(runs.idempotencyKey, run.idempotencyKey)));
      if (existing) return { row: existing, created: false };
    }
    if (run.maxInFlight) await admitRun(tx, run.owner, run.maxInFlight);
    // A random strategy's run has a dataset per sample (up to 1,000): sliced like the tasks.
    for (let i = 0; i < run.datasets.length; i += TASK_INSERT_CHUNK) {
      await tx.insert(datasets).values(run.datasets.slice(i, i + TASK_INSERT_CHUNK).map((d) => ({ id: d.id, owner: run.owner, name: d.name, runId: run.id, meta: d.meta ?? {} })));
      await new Promise((resolve) => setImmediate(resolve));
    }
    if (run.topics) {
      await tx.insert(topics).values({ id: run.topics.id, owner: run.owner, mode: run.topics.mode, datasetId: run.datasets[0].id, runId: run.id, meta: run.topics.meta });
    }
    const [row] = await tx
      .insert(runs)
      .values({
        id: run.id,
        owner: run.owner,
        kind: run.kind,
        spec: run.spec,
        idempotencyKey: run.idempotencyKey,
        requestHash: run.requestHash,
        total: run.total ?? run.tasks.length,
        output: run.output,
        parentRunId: run.parent?.runId,
        maxConcurrency: run.maxConcurrency,
        maxCostUsd: run.maxCostUsd,
        stage: run.parent?.stage,
      })
      .returning();
    for (let i = 0; i < run.tasks.length; i += TASK_INSERT_CHUNK) {
      const slice = JSON.stringify(
        run.tasks.slice(i, i + TASK_INSERT_CHUNK).map((t) => ({
          key: t.key,
          kind: t.kind,
          payload: run.taskDatasetId ? { dataset_id: run.taskDatasetId, ...t.payload } : t.payload,
          max_attempts: t.maxAttempts ?? 3,
        })),
      );
      // In array order, so task ids (the claim order) follow the plan.
      await tx.execute(sql`insert into tasks (run_id, key, kind, payload, max_attempts)
                           select ${run.id}, t.v->>'key', t.v->>'kind', t.v->'payload', (t.v->>'max_attempts')::int
                             from jsonb_array_elements(${slice}::jsonb) with ordinality as t(v, n)
                            order by t.n
                           on conflict do nothing`);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await appendEvents(tx, run.id, [{ type: 'run.queued', data: { kind: run.kind, total: run.total ?? run.tasks.length } }]);
    if (run.tasks.length === 0) {
      await appendEvents(tx, run.id, [{ type: 'run.succeeded', data: { progress: { total: 0, done: 0, failed: 0, records: 0 } } }]);
      await tx.update(runs).set({ status: 'succeeded', startedAt: sql`now()`, finishedAt: sql`now()` }).where(eq(runs.id, run.id));
    }
    await tx.execute(sql`select pg_notify(${TASKS_CHANNEL}, '')`);
    await tx.execute(sql`select pg_notify(${EVENTS_CHANNEL}, ${run.id})`);
    const [fresh] = await tx.select(runFields).from(runs).where(eq(runs.id, run.id));
    return { row: fresh ?? row, created: true };
  });
}

export async function findRun(ex: Executor, id: string, owner: string): Promise<RunRow | undefined> {
  const [row] = await ex.select(runFields).from(runs).where(and(eq(runs.id, id), eq(runs.owner, owner)));
  return row;
}

export async function listRuns(
  ex: Executor,
  owner: string,
  filter: { limit: number; before?: string; status?: string; kind?: string },
): Promise<RunRow[]> {
  const conditions = [eq(runs.owner, owner)];
  // Keyset on (created_at, id): exact however many runs share a timestamp.
  if (filter.before) conditions.push(sql`(${runs.createdAt}, ${runs.id}) < (select created_at, id from runs where id = ${filter.before})`);
  if (filter.status) conditions.push(eq(runs.status, filter.status));
  if (filter.kind) conditions.push(eq(runs.kind, filter.kind));
  return ex.select(runFields).from(runs).where(and(...conditions)).orderBy(desc(runs.createdAt), desc(runs.id)).limit(filter.limit);
}

/** Marks runs whose first task was just claimed as running; emits `run.started` once per run. */
export async function markRunsStarted(db: Db, runIds: string[]): Promise<void> {
  if (runIds.length === 0) return;
  await db.transaction(async (tx) => {
    // A run another worker is starting at this moment is left to it, not waited for.
    const started = await rows<{ id: string }>(
      tx,
      sql`with startable as (
            select id from runs where id = any(${sql.param(runIds)}::text[]) and status = 'queued' for no key update skip locked
          )
          update runs r set status = 'running', started_at = coalesce(r.started_at, now()) from startable s where r.id = s.id returning r.id`,
    );
    for (const { id } of started) {
      await appendEvents(tx, id, [{ type: 'run.started', data: {} }]);
      await tx.execute(sql`select pg_notify(${EVENTS_CHANNEL}, ${id})`);
    }
  });
}

/**
 * Cancels a run that has not ended. Queued tasks are withdrawn; workers abort in-flight ones on
 * NOTIFY; `hooks.runEnded` hears of it in the same transaction (a stage's cancel fails its pipeline).
 */
export async function cancelRun(db: Db, id: string, hooks: CommitHooks = {}): Promise<boolean> {
  const canceled = await db.transaction(async (tx) => {
    const [run] = await rows<{ status: string; kind: string; parent_run_id: string | null; stage: number | null }>(
      tx,
      sql`select status, kind, parent_run_id, stage from runs where id = ${id} for update`,
    );
    if (!run || !['queued', 'running'].includes(run.status)) return false;
    await tx.execute(sql`update tasks set status = 'canceled', updated_at = now() where run_id = ${id} and status = 'queued'`);
    await tx.execute(sql`update runs set status = 'canceled', finished_at = now() where id = ${id}`);
    await appendEvents(tx, id, [{ type: 'run.canceled', data: {} }]);
    await tx.execute(sql`select pg_notify(${CANCEL_CHANNEL}, ${id})`);
    await tx.execute(sql`select pg_notify(${EVENTS_CHANNEL}, ${id})`);
    await hooks.runEnded?.(tx, { id, kind: run.kind, parent_run_id: run.parent_run_id, stage: run.stage }, 'canceled');
    return true;
  });
  // A pipeline's running stage is canceled with it, in its own transaction (locks stay child → parent).
  if (canceled) {
    const children = await rows<{ id: string }>(db, sql`select id from runs where parent_run_id = ${id} and status in ('queued', 'running')`);
    for (const child of children) await cancelRun(db, child.id, hooks);
  }
  return canceled;
}

/**
 * Re-queues every task of an ended run that did not succeed (failed, or withdrawn by a cancel or a
 * fatal error). Succeeded tasks and their records are untouched. A kind that retries its own way
 * (a pipeline resumes the stage it stopped at) does so in `hooks.retryRun`. `budget` becomes the
 * run's `max_cost_usd` (and a pipeline's stage's, if it had one of its own), in the same transaction.
 */
export async function retryRun(db: Db, id: string, maxInFlight?: number, hooks: CommitHooks = {}, budget?: number): Promise<RetryResult> {
  const [head] = await rows<{ kind: string; owner: string; parent_run_id: string | null }>(db, sql`select kind, owner, parent_run_id from runs where id = ${id}`);
  // A retried run is back in flight: admitted like a new one, in the same transaction (a stage run
  // retried on its own counts with its pipeline, which is already in flight or is this admission).
  const admit = head && maxInFlight && head.parent_run_id === null ? (tx: Tx) => admitRun(tx, head.owner, maxInFlight) : undefined;
  const requeue = async (tx: Tx, runId: string) => {
    const result = await requeueRun(tx, runId, admit);
    if (!('requeued' in result)) return result;
    // A pipeline stopped at its budget between stages was marked itself: its advances are claimed again.
    if (runId !== id) await tx.execute(sql`update runs set budget_exceeded = null where id = ${id}`);
    if (budget !== undefined) await tx.execute(sql`update runs set max_cost_usd = ${budget} where id = ${id} or (id = ${runId} and max_cost_usd is not null)`);
    return result;
  };
  const hooked = head ? await hooks.retryRun?.(db, { id, kind: head.kind }, requeue) : undefined;
  return hooked ?? db.transaction((tx) => requeue(tx, id));
}

/**
 * The run's row lock decides it against a concurrent cancel, retry or dataset delete (which locks
 * the run before the dataset). Tasks still running are attempts a cancel is aborting: they count as
 * resumed, since their outcomes are queued again uncharged once they find the run running.
 */
async function requeueRun(tx: Tx, id: string, admit?: (tx: Tx) => Promise<void>): Promise<RetryResult> {
  const [run] = await rows<{ status: string; output: Record<string, unknown> }>(tx, sql`select status, output from runs where id = ${id} for update`);
  if (!run || !['failed', 'canceled'].includes(run.status)) return { refused: 'status', status: run?.status ?? 'missing' };
  const missing = await missingDatasets(tx, run.output);
  if (missing.length > 0) return { refused: 'missing_datasets', runId: id, datasets: missing };
  await admit?.(tx);
  const requeued = await rows<{ status: string }>(
    tx,
    sql`update tasks t set status = 'queued', attempts = 0, run_at = now(), worker_id = null, lease_until = null, updated_at = now()
          from (select id, status from tasks where run_id = ${id} and status in ('failed', 'canceled')) old
         where t.id = old.id returning old.status`,
  );
  const [{ n: inFlight }] = await rows<{ n: number }>(tx, sql`select count(*)::int as n from tasks where run_id = ${id} and status = 'running'`);
  if (requeued.length + inFlight === 0) return { refused: 'nothing' };
  const failed = requeued.filter((r) => r.status === 'failed').length;
  // A run stopped at its budget takes work again: the next commit checks the (raised) budget anew.
  await tx.execute(sql`update runs set status = 'running', failed = failed - ${failed}, finished_at = null, error = null, budget_exceeded = null where id = ${id}`);
  await appendEvents(tx, id, [{ type: 'run.retried', data: { requeued: requeued.length, ...(inFlight > 0 ? { in_flight: inFlight } : {}) } }]);
  await tx.execute(sql`select pg_notify(${TASKS_CHANNEL}, '')`);
  await tx.execute(sql`select pg_notify(${EVENTS_CHANNEL}, ${id})`);
  return { requeued: requeued.length + inFlight };
}

/** The datasets a run writes (named in its output) that no longer exist; the rest are share-locked against a delete. */
async function missingDatasets(tx: Tx, output: Record<string, unknown>): Promise<Array<{ id: string; output: string }>> {
  const named = datasetsOf(output);
  if (named.length === 0) return [];
  const present = await rows<{ id: string }>(
    tx,
    sql`select id from datasets where id in (${sql.join(named.map((d) => sql`${d.id}`), sql`, `)}) for key share`,
  );
  const found = new Set(present.map((r) => r.id));
  return named.filter((d) => !found.has(d.id));
}

/** `output.dataset_id`, `output.rejected_dataset_id` and each of `output.datasets`, with where each is named. */
function datasetsOf(output: Record<string, unknown>): Array<{ id: string; output: string }> {
  const named: Array<{ id: string; output: string }> = [];
  for (const key of ['dataset_id', 'rejected_dataset_id']) if (typeof output[key] === 'string') named.push({ id: output[key] as string, output: `output.${key}` });
  const more = output.datasets;
  if (more && typeof more === 'object') {
    for (const [key, id] of Object.entries(more)) if (typeof id === 'string') named.push({ id, output: `output.datasets.${key}` });
  }
  return named;
}

/** Task counts by status and the most recent failures, for the run report. */
export async function taskSummary(ex: Executor, runId: string) {
  const counts = await rows<{ status: string; n: number }>(ex, sql`select status, count(*)::int as n from tasks where run_id = ${runId} group by status`);
  const failures = await rows<{ key: string; error: unknown }>(
    ex,
    sql`select key, last_error as error from tasks where run_id = ${runId} and status = 'failed' order by id limit 20`,
  );
  return { counts: Object.fromEntries(counts.map((c) => [c.status, c.n])), failures };
}

export async function runCountsByStatus(ex: Executor): Promise<Record<string, number>> {
  const counts = await rows<{ status: string; n: number }>(ex, sql`select status, count(*)::int as n from runs group by status`);
  return Object.fromEntries(counts.map((c) => [c.status, c.n]));
}

/** For the worker, which acts for whoever owns the run. */
export async function findRunById(ex: Executor, id: string): Promise<RunRow | undefined> {
  const [row] = await ex.select(runFields).from(runs).where(eq(runs.id, id));
  return row;
}

/** A pipeline's stage runs, in stage order. */
export async function stageRuns(ex: Executor, parentId: string): Promise<RunRow[]> {
  return ex.select(runFields).from(runs).where(eq(runs.parentRunId, parentId)).orderBy(runs.stage, runs.createdAt);
}

/** Which of these runs have ended. */
export async function endedRuns(ex: Executor, ids: string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const ended = await rows<{ id: string }>(ex, sql`select id from runs where id = any(${sql.param(ids)}::text[]) and status in ('succeeded', 'failed', 'canceled')`);
  return ended.map((r) => r.id);
}
