import { sql } from 'drizzle-orm';
import { rows, type Db, type Executor } from './client.js';
import type { NewEvent } from './events.repository.js';

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
  | { type: 'fatal'; task: ClaimedTask; error: TaskFailure; usage: Usage }
  /**
   * Stopped because the run was canceled (or failed), not because the task did: canceled if the run
   * still is at commit, queued again uncharged if a retry reopened it meanwhile.
   */
  | { type: 'aborted'; task: ClaimedTask; usage: Usage };

/** Task ids are numbers from our own rows, so inlining them as an array literal is safe. */
export const idArray = (ids: number[]) => sql.raw(`'{${ids.map(Number).join(',')}}'::bigint[]`);

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
