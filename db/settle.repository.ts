import { sql } from 'drizzle-orm';
import { rows, type Db, type Tx } from './client.js';
import { settleOverBudget, settleStrandedOverBudget } from './budget.repository.js';
import { runCounts } from './counters.js';
import { appendEvents } from './events.repository.js';
import { progressOf } from './progress.js';
import { CANCEL_CHANNEL, EVENTS_CHANNEL, type TaskFailure } from './queue.repository.js';
import type { CommitHooks, HookedRun } from './run-hooks.js';

/** A run a commit may have finished: nothing of it queued any more. */
export interface RunToSettle {
  id: string;
}

/**
 * Ends a run whose tasks are all done, in a transaction of its own, with the run's row locked: its
 * terminal event, its status and `hooks.runEnded` (a pipeline moves on) land together, once,
 * however many commits ask. Cheap when there is nothing to do: the counters are read without a
 * lock first.
 */
export async function settleRun(db: Db, run: RunToSettle, hooks: CommitHooks): Promise<void> {
  const first = await runCounts(db, run.id);
  if (!first) return;
  // Not done: it may be a run stopped at its budget whose last task in flight just committed.
  if (first.done + first.failed < first.total) return settleOverBudget(db, run.id, hooks);
  await db.transaction(async (tx) => {
    const [locked] = await rows<{ kind: string; status: string; parent_run_id: string | null; stage: number | null }>(
      tx,
      sql`select kind, status, parent_run_id, stage from runs where id = ${run.id} for update`,
    );
    if (!locked || (locked.status !== 'running' && locked.status !== 'queued')) return;
    const counts = (await runCounts(tx, run.id))!;
    if (counts.done + counts.failed < counts.total) return;
    const outcome = counts.failed > 0 ? 'failed' : 'succeeded';
    const error =
      counts.failed > 0
        ? { category: 'tasks_failed', message: `${counts.failed} of ${counts.total} tasks failed; the dataset keeps the ${counts.records} records that succeeded. POST /v1/runs/${run.id}/retry re-runs only the failed tasks.` }
        : null;
    await appendEvents(tx, run.id, [{ type: `run.${outcome}`, data: { progress: progressOf({ ...counts, ended: true }), error } }]);
    await tx.execute(sql`update runs set status = ${outcome}, finished_at = now(), error = ${error ? JSON.stringify(error) : null}::jsonb where id = ${run.id}`);
    await tx.execute(sql`select pg_notify(${EVENTS_CHANNEL}, ${run.id})`);
    await hooks.runEnded?.(tx, { id: run.id, kind: locked.kind, parent_run_id: locked.parent_run_id, stage: locked.stage }, outcome);
  });
}

/**
 * Fails a run now, in the commit that met a fatal failure (bad credentials, an unreachable
 * provider), so no more of its tasks are claimed: its queued tasks are withdrawn and in-flight ones
 * aborted. The status change takes the row only as a plain update does, which other commits'
 * share locks allow; of two fatal commits at once, the second finds the run ended and does nothing.
 */
export async function failRunNow(tx: Tx, run: HookedRun, error: TaskFailure, hooks: CommitHooks): Promise<void> {
  const failed = await rows<{ id: string }>(
    tx,
    sql`update runs set status = 'failed', finished_at = now(), error = ${JSON.stringify(error)}::jsonb
         where id = ${run.id} and status in ('queued', 'running') returning id`,
  );
  if (failed.length === 0) return;
  await tx.execute(sql`update tasks set status = 'canceled', updated_at = now() where run_id = ${run.id} and status = 'queued'`);
  await appendEvents(tx, run.id, [{ type: 'run.failed', data: { error } }]);
  await tx.execute(sql`select pg_notify(${CANCEL_CHANNEL}, ${run.id})`);
  await hooks.runEnded?.(tx, run, 'failed');
}

/**
 * Runs in flight with no task queued or running: a worker that died between committing a run's
 * last task and settling it left them. The reaper settles them (a no-op for those not done, such
 * as a pipeline between stages).
 */
export async function settleStranded(db: Db, hooks: CommitHooks): Promise<number> {
  const stranded = await rows<{ id: string }>(
    db,
    sql`select r.id from runs r where r.status in ('queued', 'running')
          and not exists (select 1 from tasks t where t.run_id = r.id and t.status in ('queued', 'running'))`,
  );
  for (const { id } of stranded) await settleRun(db, { id }, hooks);
  return stranded.length + (await settleStrandedOverBudget(db, hooks));
}
