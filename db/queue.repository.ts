import { sql } from 'drizzle-orm';
import { rows, type Executor, type Tx, type Db } from './client.js';
import { records as recordsTable, tasks as tasksTable } from './schema/index.js';
import { appendEvents, type NewEvent } from './events.repository.js';
import { stageEnded } from './pipeline.repository.js';

export interface ClaimedTask {
  id: number;
  run_id: string;
  key: string;
  kind: string;
  payload: unknown;
  attempts: number;
  max_attempts: number;
}

export interface Usage {
  requests: number;
  input_tokens: number;
  output_tokens: number;
  cost_usd: number;
}

export interface TaskFailure {
  category: string;
  message: string;
  attempts?: number;
}

/** What a worker hands back for one claimed task; committed in batches by `commitOutcomes`. */
export type Outcome =
  | {
      type: 'succeeded';
      task: ClaimedTask;
      datasetId: string;
      records: Array<{ key: string; data: unknown; datasetId?: string }>;
      usage: Usage;
      /** Run-level events the task adds (a pipeline's stage.started). */
      events?: NewEvent[];
      /** Merged into the run's output (a pipeline's final dataset and export). */
      output?: Record<string, unknown>;
      /** Follow-up tasks of the same run. */
      spawn?: Array<{ key: string; kind: string; payload: unknown; maxAttempts?: number }>;
    }
  | { type: 'retry'; task: ClaimedTask; error: TaskFailure; delayMs: number; usage: Usage }
  | { type: 'failed'; task: ClaimedTask; error: TaskFailure; usage: Usage }
  /** The run cannot succeed (bad credentials, unreachable provider): fail it now instead of burning every task. */
  | { type: 'fatal'; task: ClaimedTask; error: TaskFailure; usage: Usage };

/** Task ids are numbers from our own rows, so inlining them as an array literal is safe. */
const idArray = (ids: number[]) => sql.raw(`'{${ids.map(Number).join(',')}}'::bigint[]`);

export const EVENTS_CHANNEL = 'quarry_events';
export const TASKS_CHANNEL = 'quarry_tasks';
export const CANCEL_CHANNEL = 'quarry_cancel';

/**
 * Claim up to `limit` due tasks. SKIP LOCKED lets many workers run this at once without blocking or
 * double-claiming; ordering by (run_at, id) matches the partial index so the scan stops at `limit`.
 * Runs with a concurrency cap that are already at it are skipped (one primary-key lookup per
 * candidate, and a count only for capped runs); a batch that overshoots a cap gives the excess back.
 */
export async function claimTasks(db: Db, workerId: string, limit: number, leaseSeconds: number): Promise<ClaimedTask[]> {
  const claimed = await rows<ClaimedTask & { max_concurrency: number | null }>(
    db,
    sql`
    with claimable as (
      select t.id from tasks t
      where t.status = 'queued' and t.run_at <= now()
        and not exists (
          select 1 from runs r
          where r.id = t.run_id and r.max_concurrency is not null
            and r.max_concurrency <= (select count(*) from tasks x where x.run_id = r.id and x.status = 'running'))
      order by t.run_at, t.id
      limit ${limit}
      for update of t skip locked
    )
    update tasks t
       set status = 'running', worker_id = ${workerId}, attempts = t.attempts + 1,
           lease_until = now() + make_interval(secs => ${leaseSeconds}), updated_at = now()
      from claimable c
     where t.id = c.id
    returning t.id::int as id, t.run_id, t.key, t.kind, t.payload, t.attempts, t.max_attempts,
              (select max_concurrency from runs r where r.id = t.run_id) as max_concurrency`,
  );
  if (!claimed.some((t) => t.max_concurrency !== null)) return claimed;
  return releaseOverCap(db, workerId, claimed);
}

/** Gives back this batch's tasks of capped runs beyond what the cap leaves room for. */
async function releaseOverCap(db: Db, workerId: string, claimed: Array<ClaimedTask & { max_concurrency: number | null }>): Promise<ClaimedTask[]> {
  const capped = [...new Set(claimed.filter((t) => t.max_concurrency !== null).map((t) => t.run_id))];
  const running = await rows<{ run_id: string; n: number }>(
    db,
    sql`select run_id, count(*)::int as n from tasks where status = 'running' and run_id in (${sql.join(capped.map((id) => sql`${id}`), sql`, `)}) group by run_id`,
  );
  const over = new Map(running.map((r) => [r.run_id, r.n - (claimed.find((t) => t.run_id === r.run_id)!.max_concurrency ?? r.n)]));
  const excess: number[] = [];
  for (const t of [...claimed].reverse()) {
    const n = over.get(t.run_id) ?? 0;
    if (n > 0) {
      excess.push(t.id);
      over.set(t.run_id, n - 1);
    }
  }
  if (excess.length > 0) {
    await db.execute(sql`update tasks set status = 'queued', worker_id = null, lease_until = null, attempts = greatest(attempts - 1, 0), updated_at = now()
      where id = any(${idArray(excess)}) and worker_id = ${workerId} and status = 'running'`);
  }
  return claimed.filter((t) => !excess.includes(t.id));
}

/** Extends the lease of tasks this worker still holds; ids missing from the result were lost (reaped). */
export async function extendLeases(db: Db, workerId: string, ids: number[], leaseSeconds: number): Promise<number[]> {
  if (ids.length === 0) return [];
  const held = await rows<{ id: number }>(
    db,
    sql`update tasks set lease_until = now() + make_interval(secs => ${leaseSeconds})
         where id = any(${idArray(ids)}) and worker_id = ${workerId} and status = 'running'
     returning id::int as id`,
  );
  return held.map((r) => r.id);
}

/**
 * Tasks whose lease ran out belong to a dead worker: put them back. A task that keeps killing its
 * workers is failed once its attempts are spent, so it cannot loop forever.
 */
export async function reapExpired(db: Db): Promise<{ requeued: number; exhausted: ClaimedTask[] }> {
  const expired = await rows<ClaimedTask>(
    db,
    sql`
    with expired as (
      select id from tasks where status = 'running' and lease_until < now()
      for update skip locked
    )
    update tasks t
       set status = case when t.attempts < t.max_attempts then 'queued' else t.status end,
           worker_id = case when t.attempts < t.max_attempts then null else 'reaper' end,
           -- An exhausted task keeps an expired lease: if failing it does not commit, the next reap retries.
           lease_until = case when t.attempts < t.max_attempts then null else now() end,
           run_at = now(), updated_at = now()
      from expired e where t.id = e.id
    returning t.id::int as id, t.run_id, t.key, t.kind, t.payload, t.attempts, t.max_attempts, t.status`,
  );
  const exhausted = expired.filter((t) => (t as ClaimedTask & { status: string }).status === 'running');
  if (expired.length > exhausted.length) await notifyTasks(db);
  return { requeued: expired.length - exhausted.length, exhausted };
}

/** Returns a stopping worker's tasks to the queue without charging an attempt. */
export async function releaseTasks(db: Db, workerId: string): Promise<number> {
  const released = await rows<{ id: number }>(
    db,
    sql`update tasks set status = 'queued', worker_id = null, lease_until = null, run_at = now(),
               attempts = greatest(attempts - 1, 0), updated_at = now()
         where worker_id = ${workerId} and status = 'running'
     returning id::int as id`,
  );
  if (released.length > 0) await notifyTasks(db);
  return released.length;
}

export async function notifyTasks(ex: Executor): Promise<void> {
  await ex.execute(sql`select pg_notify(${TASKS_CHANNEL}, '')`);
}

interface RunLock {
  id: string;
  status: string;
  dataset_id: string | null;
  rejected_dataset_id: string | null;
  parent_run_id: string | null;
  stage: number | null;
}

/**
 * Commit a batch of outcomes in one transaction: a task's records, its events, its completion and
 * the run's counters land together or not at all. Batching amortises the commit (and fsync) over
 * many tasks, which is what lets one worker keep 64+ LLM calls in flight.
 */
export async function commitOutcomes(db: Db, workerId: string, outcomes: Outcome[]): Promise<void> {
  if (outcomes.length === 0) return;
  await db.transaction(async (tx) => {
    const runIds = [...new Set(outcomes.map((o) => o.task.run_id))].sort();
    // Lock the runs first, always in id order, so concurrent committers cannot deadlock and a
    // cancel either fully precedes or fully follows this batch.
    const locked = await rows<RunLock>(
      tx,
      sql`select id, status, output->>'dataset_id' as dataset_id, output->>'rejected_dataset_id' as rejected_dataset_id, parent_run_id, stage from runs
           where id in (${sql.join(runIds.map((id) => sql`${id}`), sql`, `)}) order by id for update`,
    );

    const ids = outcomes.map((o) => o.task.id);
    const owned = new Set(
      (
        await rows<{ id: number }>(
          tx,
          sql`select id::int as id from tasks where id = any(${idArray(ids)})
               and worker_id = ${workerId} and status = 'running' for update`,
        )
      ).map((r) => r.id),
    );

    for (const runId of runIds) {
      // A task reaped from under us was re-queued for someone else: its outcome is dropped, not doubled.
      const mine = outcomes.filter((o) => o.task.run_id === runId && owned.has(o.task.id));
      if (mine.length === 0) continue;
      const lock = locked.find((r) => r.id === runId);
      if (lock) await commitRunOutcomes(tx, lock, mine);
    }
    for (const runId of runIds) await tx.execute(sql`select pg_notify(${EVENTS_CHANNEL}, ${runId})`);
  });
}

async function commitRunOutcomes(tx: Tx, run: RunLock, outcomes: Outcome[]): Promise<void> {
  const { id: runId, status, dataset_id: primaryDataset } = run;
  const usage = sumUsage(outcomes.map((o) => o.usage));
  if (status !== 'running' && status !== 'queued') {
    // The run was canceled or failed while these were in flight: keep the spend, drop the work.
    await setTaskStatus(tx, outcomes.map((o) => o.task.id), 'canceled');
    await tx.execute(sql`update runs set requests = requests + ${usage.requests}, input_tokens = input_tokens + ${usage.input_tokens},
      output_tokens = output_tokens + ${usage.output_tokens}, cost_usd = cost_usd + ${usage.cost_usd} where id = ${runId}`);
    return;
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
      where id = any(${idArray(succeeded.map((o) => o.task.id))})`);
  }
  let failed = 0;
  let fatal: TaskFailure | undefined;
  for (const o of outcomes) {
    if (o.type === 'retry') {
      events.push({ type: 'task.retrying', data: { task: o.task.key, attempt: o.task.attempts, delay_ms: o.delayMs, error: o.error } });
      await tx.execute(sql`update tasks set status = 'queued', worker_id = null, lease_until = null,
        run_at = now() + make_interval(secs => ${o.delayMs / 1000}), last_error = ${JSON.stringify(o.error)}::jsonb, updated_at = now()
        where id = ${o.task.id}`);
    } else if (o.type === 'failed' || o.type === 'fatal') {
      failed++;
      if (o.type === 'fatal') fatal = o.error;
      events.push({ type: 'record.failed', data: { task: o.task.key, attempts: o.task.attempts, ...o.error } });
      await tx.execute(sql`update tasks set status = 'failed', lease_until = null, last_error = ${JSON.stringify(o.error)}::jsonb, updated_at = now()
        where id = ${o.task.id}`);
    }
  }
  const done = succeeded.length;

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
  if (ended && run.parent_run_id !== null) await stageEnded(tx, { id: runId, parent_run_id: run.parent_run_id, stage: run.stage ?? 0 }, ended);
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
    where id = any(${idArray(ids)})`);
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

export function progressOf(run: { total: number; done: number; failed: number; records: number; input_tokens: number; output_tokens: number; cost_usd: number; started_at: Date | string | null }) {
  const elapsed = run.started_at ? Math.max(0.001, (Date.now() - new Date(run.started_at).getTime()) / 1000) : 0;
  const finished = run.done + run.failed;
  const taskRate = elapsed > 0 ? finished / elapsed : 0;
  const remaining = Math.max(0, run.total - finished);
  return {
    total: run.total,
    done: run.done,
    failed: run.failed,
    records: run.records,
    records_per_second: elapsed > 0 ? round(run.records / elapsed) : 0,
    tasks_per_second: round(taskRate),
    tokens: { input: run.input_tokens, output: run.output_tokens },
    cost_usd: round(run.cost_usd, 6),
    eta_seconds: remaining === 0 ? 0 : taskRate > 0 ? round(remaining / taskRate, 1) : null,
  };
}

const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;
