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
  /** The run's owner (its API key's name): whose cached and batched answers the task's calls use. */
  owner?: string;
}

// Usage is the teacher layer's; re-exported because the outcome types below carry it.
import type { Usage } from '../src/llm/usage.js';
export type { Usage };

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
      records: Array<{ key: string; data: unknown; datasetId?: string; /** The export contracts that refuse it (records.unrenderable). */ unrenderable?: string | null }>;
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
  | { type: 'aborted'; task: ClaimedTask; usage: Usage }
  /**
   * Waiting for a provider batch (`llm.mode: "batch"`): queued again `delayMs` ahead (sooner when its
   * answer lands), the attempt not charged; neither done nor failed. `waitingFor` is the awaited call.
   */
  | { type: 'deferred'; task: ClaimedTask; delayMs: number; waitingFor: { owner: string; key: string }; usage: Usage };

/** Task ids as one bound `bigint[]` parameter, however many there are. */
export const idList = (ids: number[]) => sql`${sql.param(ids)}::bigint[]`;

export const EVENTS_CHANNEL = 'quarry_events';
export const TASKS_CHANNEL = 'quarry_tasks';
export const CANCEL_CHANNEL = 'quarry_cancel';

/**
 * Claim up to `limit` due tasks, fairly: round robin across owners (API keys), then across each
 * owner's runs, so a key's 50,000-task run does not hold back another key's 10-task run queued
 * after it. A task's turn is its owner's tasks in flight plus its place in the owner's line, in
 * which the owner's runs alternate the same way (by their own tasks in flight plus place); the
 * lowest turns win, the older run first on a tie. Counting tasks in flight, not only places, keeps
 * it fair across claims and workers: a key that already holds slots waits for the others to catch
 * up. A run's `max_concurrency` is ranked in the same statement, as pg-boss ranks its groups:
 * in flight + place in the run's line <= cap; nothing is claimed and given back.
 *
 * Cheap with 100,000 queued: it starts from the runs in flight (runs_in_flight, a handful of rows)
 * and reads at most `limit` due tasks of each from tasks_run_status, already in claim order, so it
 * costs runs in flight × `limit` rows however long the queue is. bench/claim.bench.ts, p50 ms per
 * claim of 64 (a busy 2-core machine), before (oldest first, one index scan) → now:
 *   100k queued, 4 owners, 14 runs:    PGlite 222 → 9,  Postgres 3.9 → 4.9
 *   100k queued, 20 owners, 200 runs:  PGlite 235 → 37, Postgres 6.0 → 25 (8.7 for a claim of 8);
 *     before, a capped run at the head of the queue held the claim to 4 tasks.
 * PGlite was slow before because, without statistics, it read and sorted every queued task.
 *
 * Races: SKIP LOCKED lets many workers claim at once without blocking or double-claiming, and
 * twice `limit` tasks are ranked so that ones a concurrent claimer holds are replaced from the same
 * ranking. Claimers that see the same queue pick the same first tasks of a capped run, so SKIP
 * LOCKED alone keeps its cap; but claimers whose snapshots differ (a task came due or was queued
 * again in between) pick different ones and could together overfill it. So a claim locks a capped
 * run's row (SKIP LOCKED) and bumps its claim_seq, and a claimer that finds the row locked, or
 * changed since its snapshot (Postgres rechecks the join against the newest row version), takes
 * nothing of that run this time.
 */
export async function claimTasks(ex: Executor, workerId: string, limit: number, leaseSeconds: number): Promise<ClaimedTask[]> {
  return rows<ClaimedTask>(
    ex,
    sql`
    with in_flight as materialized (
      select r.id, r.owner, r.created_at, r.max_concurrency, r.claim_seq, r.budget_exceeded is not null as stopped,
             (select count(*)::int from tasks x where x.run_id = r.id and x.status = 'running') as running
        from runs r
       where r.status in ('queued', 'running')
    ),
    -- Owners and runs become small integers, so the sorts below compare numbers, not text.
    active as materialized (
      select a.*, sum(a.running) over (partition by a.owner) as owner_running,
             dense_rank() over (order by a.owner) as owner_no,
             row_number() over (order by a.created_at, a.id) as run_no
        from in_flight a
    ),
    -- At most the batch size of due tasks a run, read in claim order straight from the index. A run
    -- over its budget (stopped) gives none, and its index is not read: a one-time filter.
    candidates as materialized (
      select c.id, a.id as run_id, a.run_no, a.owner_no, a.owner_running, a.max_concurrency, a.claim_seq,
             a.running + c.n as run_turn
        from active a
       cross join lateral (
             select q.id, row_number() over (order by q.run_at, q.id) as n
               from (select t.id, t.run_at from tasks t
                      where t.run_id = a.id and not a.stopped and t.status = 'queued' and t.run_at <= now()
                      order by t.run_at, t.id
                      limit ${limit}) q) c
       where a.max_concurrency is null or a.running + c.n <= a.max_concurrency
    ),
    picked as materialized (
      select c.id, c.run_id, c.run_no, c.max_concurrency, c.claim_seq,
             c.owner_running + row_number() over (partition by c.owner_no order by c.run_turn, c.run_no) as turn
        from candidates c
       order by turn, c.run_no, c.id
       limit ${limit * 2}
    ),
    -- A capped run's tasks only if its row is ours and unchanged since this snapshot (see Races).
    granted as (
      select r.id from runs r
        join (select distinct run_id, claim_seq from picked where max_concurrency is not null) p
          on p.run_id = r.id and p.claim_seq = r.claim_seq
         for no key update of r skip locked
    ),
    bumped as (
      update runs r set claim_seq = r.claim_seq + 1 from granted g where r.id = g.id returning r.id
    ),
    claimable as (
      select t.id from tasks t
        join picked p on p.id = t.id
       where t.status = 'queued' and (p.max_concurrency is null or p.run_id in (select id from bumped))
       order by p.turn, p.run_no, p.id
       limit ${limit}
         for update of t skip locked
    )
    update tasks t
       set status = 'running', worker_id = ${workerId}, attempts = t.attempts + 1,
           lease_until = now() + make_interval(secs => ${leaseSeconds}), updated_at = now()
      from claimable c
     where t.id = c.id
    returning t.id::int as id, t.run_id, t.key, t.kind, t.payload, t.attempts, t.max_attempts,
              (select r.owner from runs r where r.id = t.run_id) as owner`,
  );
}

/** Extends the lease of tasks this worker still holds; ids missing from the result were lost (reaped). */
export async function extendLeases(db: Db, workerId: string, ids: number[], leaseSeconds: number): Promise<number[]> {
  if (ids.length === 0) return [];
  const held = await rows<{ id: number }>(
    db,
    sql`update tasks set lease_until = now() + make_interval(secs => ${leaseSeconds})
         where id = any(${idList(ids)}) and worker_id = ${workerId} and status = 'running'
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
