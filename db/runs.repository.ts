import { and, desc, eq, sql } from 'drizzle-orm';
import { rows, type Db, type Executor } from './client.js';
import { appendEvents } from './events.repository.js';
import { reopenPipeline, stageEnded, stoppedStage } from './pipeline.repository.js';
import { CANCEL_CHANNEL, EVENTS_CHANNEL, TASKS_CHANNEL } from './queue.repository.js';
import { datasets, runs, tasks, topics } from './schema/index.js';

export type RunRow = typeof runs.$inferSelect;

export interface NewTask {
  key: string;
  kind: string;
  payload: unknown;
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
  /** A topics run: the topics resource its node records form (its dataset is the run's first). */
  topics?: { id: string; mode: string; meta: Record<string, unknown> };
  /** Datasets the run writes into; `output.dataset_id` names the primary one. */
  datasets: Array<{ id: string; name: string; meta?: Record<string, unknown> }>;
  tasks: NewTask[];
}

const TASK_INSERT_CHUNK = 1000;

/**
 * Creates the run, its output dataset and all its tasks in one transaction, so a run is either
 * fully planned or absent. Returns the existing run when the idempotency key was already used.
 */
export async function insertRun(db: Db, run: NewRun): Promise<{ row: RunRow; created: boolean }> {
  return db.transaction(async (tx) => {
    if (run.idempotencyKey) {
      // Serialise concurrent requests with the same key on a transaction-scoped lock.
      await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${run.owner}), hashtext(${run.idempotencyKey}))`);
      const [existing] = await tx.select().from(runs).where(and(eq(runs.owner, run.owner), eq(runs.idempotencyKey, run.idempotencyKey)));
      if (existing) return { row: existing, created: false };
    }
    if (run.datasets.length > 0) {
      await tx.insert(datasets).values(run.datasets.map((d) => ({ id: d.id, owner: run.owner, name: d.name, runId: run.id, meta: d.meta ?? {} })));
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
        stage: run.parent?.stage,
      })
      .returning();
    for (let i = 0; i < run.tasks.length; i += TASK_INSERT_CHUNK) {
      const slice = run.tasks.slice(i, i + TASK_INSERT_CHUNK);
      await tx
        .insert(tasks)
        .values(slice.map((t) => ({ runId: run.id, key: t.key, kind: t.kind, payload: t.payload, maxAttempts: t.maxAttempts ?? 3 })))
        .onConflictDoNothing();
    }
    await appendEvents(tx, run.id, [{ type: 'run.queued', data: { kind: run.kind, total: run.total ?? run.tasks.length } }]);
    if (run.tasks.length === 0) {
      await appendEvents(tx, run.id, [{ type: 'run.succeeded', data: { progress: { total: 0, done: 0, failed: 0, records: 0 } } }]);
      await tx.update(runs).set({ status: 'succeeded', startedAt: sql`now()`, finishedAt: sql`now()` }).where(eq(runs.id, run.id));
    }
    await tx.execute(sql`select pg_notify(${TASKS_CHANNEL}, '')`);
    await tx.execute(sql`select pg_notify(${EVENTS_CHANNEL}, ${run.id})`);
    const [fresh] = await tx.select().from(runs).where(eq(runs.id, run.id));
    return { row: fresh ?? row, created: true };
  });
}

export async function findRun(ex: Executor, id: string, owner: string): Promise<RunRow | undefined> {
  const [row] = await ex.select().from(runs).where(and(eq(runs.id, id), eq(runs.owner, owner)));
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
  return ex.select().from(runs).where(and(...conditions)).orderBy(desc(runs.createdAt), desc(runs.id)).limit(filter.limit);
}

/** Marks runs whose first task was just claimed as running; emits `run.started` once per run. */
export async function markRunsStarted(db: Db, runIds: string[]): Promise<void> {
  if (runIds.length === 0) return;
  await db.transaction(async (tx) => {
    const started = await rows<{ id: string }>(
      tx,
      sql`update runs set status = 'running', started_at = coalesce(started_at, now())
           where id in (${sql.join(runIds.map((id) => sql`${id}`), sql`, `)}) and status = 'queued' returning id`,
    );
    for (const { id } of started) {
      await appendEvents(tx, id, [{ type: 'run.started', data: {} }]);
      await tx.execute(sql`select pg_notify(${EVENTS_CHANNEL}, ${id})`);
    }
  });
}

/** Cancels a run that has not ended. Queued tasks are withdrawn; workers abort in-flight ones on NOTIFY. */
export async function cancelRun(db: Db, id: string): Promise<boolean> {
  const canceled = await db.transaction(async (tx) => {
    const [run] = await rows<{ status: string; parent_run_id: string | null; stage: number | null }>(
      tx,
      sql`select status, parent_run_id, stage from runs where id = ${id} for update`,
    );
    if (!run || !['queued', 'running'].includes(run.status)) return false;
    await tx.execute(sql`update tasks set status = 'canceled', updated_at = now() where run_id = ${id} and status = 'queued'`);
    await tx.execute(sql`update runs set status = 'canceled', finished_at = now() where id = ${id}`);
    await appendEvents(tx, id, [{ type: 'run.canceled', data: {} }]);
    await tx.execute(sql`select pg_notify(${CANCEL_CHANNEL}, ${id})`);
    await tx.execute(sql`select pg_notify(${EVENTS_CHANNEL}, ${id})`);
    if (run.parent_run_id !== null) await stageEnded(tx, { id, parent_run_id: run.parent_run_id, stage: run.stage ?? 0 }, 'canceled');
    return true;
  });
  // A pipeline's running stage is canceled with it, in its own transaction (locks stay child → parent).
  if (canceled) {
    const children = await rows<{ id: string }>(db, sql`select id from runs where parent_run_id = ${id} and status in ('queued', 'running')`);
    for (const child of children) await cancelRun(db, child.id);
  }
  return canceled;
}

/**
 * Re-queues every task of an ended run that did not succeed (failed, or withdrawn by a cancel or a
 * fatal error). Succeeded tasks and their records are untouched.
 */
export async function retryRun(db: Db, id: string): Promise<number> {
  const [head] = await rows<{ kind: string; status: string }>(db, sql`select kind, status from runs where id = ${id}`);
  if (head?.kind === 'pipeline' && ['failed', 'canceled'].includes(head.status)) return retryPipeline(db, id);
  return db.transaction(async (tx) => {
    const [run] = await rows<{ status: string }>(tx, sql`select status from runs where id = ${id} for update`);
    if (!run || !['failed', 'canceled'].includes(run.status)) return -1;
    const requeued = await rows<{ status: string }>(
      tx,
      sql`update tasks t set status = 'queued', attempts = 0, run_at = now(), worker_id = null, lease_until = null, updated_at = now()
            from (select id, status from tasks where run_id = ${id} and status in ('failed', 'canceled')) old
           where t.id = old.id returning old.status`,
    );
    const failed = requeued.filter((r) => r.status === 'failed').length;
    if (requeued.length === 0) return 0;
    await tx.execute(sql`update runs set status = 'running', failed = failed - ${failed}, finished_at = null, error = null where id = ${id}`);
    await appendEvents(tx, id, [{ type: 'run.retried', data: { requeued: requeued.length } }]);
    await tx.execute(sql`select pg_notify(${TASKS_CHANNEL}, '')`);
    await tx.execute(sql`select pg_notify(${EVENTS_CHANNEL}, ${id})`);
    return requeued.length;
  });
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

/** A pipeline resumes by retrying the stage run it stopped at; the stage's completion advances it again. */
async function retryPipeline(db: Db, id: string): Promise<number> {
  const child = await stoppedStage(db, id);
  if (!child) return 0;
  // Reopen first: a stage that finishes fast must find its pipeline running, or nothing advances it.
  const error = await db.transaction(async (tx) => {
    const [parent] = await rows<{ error: unknown }>(tx, sql`select error from runs where id = ${id} for update`);
    await reopenPipeline(tx, id, child.id);
    return parent?.error;
  });
  const requeued = await retryRun(db, child.id);
  if (requeued <= 0) {
    await db.execute(sql`update runs set status = 'failed', finished_at = now(), error = ${JSON.stringify(error)}::jsonb where id = ${id}`);
  }
  return requeued;
}

/** For the worker, which acts for whoever owns the run. */
export async function findRunById(ex: Executor, id: string): Promise<RunRow | undefined> {
  const [row] = await ex.select().from(runs).where(eq(runs.id, id));
  return row;
}

/** A pipeline's stage runs, in stage order. */
export async function stageRuns(ex: Executor, parentId: string): Promise<RunRow[]> {
  return ex.select().from(runs).where(eq(runs.parentRunId, parentId)).orderBy(runs.stage, runs.createdAt);
}
