import { sql } from 'drizzle-orm';
import { rows, type Db, type Tx } from './client.js';
import { runCounts, type RunCounts } from './counters.js';
import { appendEvents } from './events.repository.js';
import { progressOf } from './progress.js';
import { EVENTS_CHANNEL } from './queue.repository.js';
import type { CommitHooks } from './run-hooks.js';
import { budgetCrossed, PROJECTION_MIN_FINISHED, type BudgetExceeded } from './run-cost.js';

// `max_cost_usd` (db/run-cost.ts decides, this file acts). A commit that finds its run over budget
// marks it (runs.budget_exceeded): the claim takes no more of its tasks, those in flight finish and
// commit as usual, and the settle that finds none running ends the run `failed` with reason
// `budget_exceeded`, withdrawing what is queued. A retry with a higher budget clears the mark.

/** NOTIFYed with a run's id when it is marked over budget: workers hand back its tasks not yet started. */
export const BUDGET_CHANNEL = 'quarry_budget';

/** What a commit knows of a run's budget (read with the run in `shareRuns`). */
export interface RunBudget {
  id: string;
  kind: string;
  parent_run_id: string | null;
  max_cost_usd: number | null;
  /** The run is already marked: nothing more to check. */
  over_budget: boolean;
  /** A stage run's pipeline's budget, which covers every stage. */
  parent_max_cost_usd: number | null;
  /** A batch-mode run's output.batch.expected_completion, for its progress events. */
  batch_expected_completion: string | null;
}

/** The budget's columns (and the batch ETA progress shows) as `shareRuns` selects them from `runs`. */
export const budgetColumns = sql.raw(
  `runs.max_cost_usd, runs.budget_exceeded is not null as over_budget, runs.output->'batch'->>'expected_completion' as batch_expected_completion,
   (select p.max_cost_usd from runs p where p.id = runs.parent_run_id) as parent_max_cost_usd`,
);

/**
 * After a commit added to the run's counters (`counts`, as this transaction sees them): whether the
 * run is over its budget, or its pipeline over the pipeline's, marking it the first time. A
 * pipeline's projection is what it spent plus what this stage is projected to spend still.
 * Returns true when the run takes no more work.
 */
export async function overBudget(tx: Tx, run: RunBudget, counts: RunCounts): Promise<boolean> {
  if (run.over_budget) return true;
  if (run.max_cost_usd === null && run.parent_max_cost_usd === null) return false;
  // The commit that finishes the run has nothing left to stop.
  if (counts.done + counts.failed >= counts.total) return false;
  let crossed = budgetCrossed(counts, run.max_cost_usd, run.kind === 'pipeline');
  let scope: 'run' | 'pipeline' = 'run';
  if (!crossed && run.parent_max_cost_usd !== null && run.parent_run_id !== null) {
    crossed = await pipelineCrossed(tx, run.parent_run_id, run.parent_max_cost_usd, counts);
    scope = 'pipeline';
  }
  if (!crossed) return false;
  const marked = await rows<{ id: string }>(
    tx,
    sql`update runs set budget_exceeded = ${JSON.stringify({ ...crossed, scope })}::jsonb
         where id = ${run.id} and budget_exceeded is null and status in ('queued', 'running') returning id`,
  );
  if (marked.length > 0) {
    const [{ n: inFlight }] = await rows<{ n: number }>(tx, sql`select count(*)::int as n from tasks where run_id = ${run.id} and status = 'running'`);
    await appendEvents(tx, run.id, [{ type: 'run.budget_exceeded', data: { ...crossed, scope, in_flight: inFlight } }]);
    await tx.execute(sql`select pg_notify(${BUDGET_CHANNEL}, ${run.id})`);
  }
  return true;
}

/** The pipeline's spend (its stages' included, this commit's too) against its budget; projected with what this stage has left. */
async function pipelineCrossed(tx: Tx, pipelineId: string, budget: number, stage: RunCounts): Promise<BudgetExceeded | undefined> {
  const pipeline = await runCounts(tx, pipelineId);
  if (!pipeline) return undefined;
  const finished = stage.done + stage.failed;
  const left = finished >= PROJECTION_MIN_FINISHED ? (stage.cost_usd / finished) * Math.max(0, stage.total - finished) : 0;
  const spent = pipeline.cost_usd;
  const figures = { spent_usd: round6(spent), projected_usd: finished >= PROJECTION_MIN_FINISHED ? round6(spent + left) : null, budget_usd: budget };
  if (spent >= budget) return { ...figures, by: 'spent' };
  if (spent + left > budget) return { ...figures, by: 'projected' };
  return undefined;
}

/**
 * Ends a run marked over budget once none of its tasks is running (the last in-flight commit, or
 * the reaper's sweep, gets here): its queued tasks are withdrawn (a retry queues them again), it
 * fails with reason `budget_exceeded`, and `hooks.runEnded` hears of it (a stage fails its
 * pipeline). Cheap when there is nothing to do: checked without a lock first.
 */
export async function settleOverBudget(db: Db, runId: string, hooks: CommitHooks): Promise<void> {
  const [due] = await rows<{ id: string }>(db, stoppable(runId));
  if (!due) return;
  await db.transaction(async (tx) => {
    const [locked] = await rows<{ kind: string; parent_run_id: string | null; stage: number | null; budget_exceeded: BudgetExceeded & { scope: string } }>(
      tx,
      sql`select kind, parent_run_id, stage, budget_exceeded from runs where id = ${runId} for update`,
    );
    if (!locked?.budget_exceeded) return;
    // Withdrawn before the check for running tasks: a claim that read them as queued in an older
    // snapshot then finds them locked or canceled; one that got there first shows up as running.
    await tx.execute(sql`update tasks set status = 'canceled', updated_at = now() where run_id = ${runId} and status = 'queued'`);
    if ((await rows(tx, stoppable(runId))).length === 0) return;
    const counts = (await runCounts(tx, runId))!;
    const b = locked.budget_exceeded;
    const whose = b.scope === 'pipeline' ? 'its pipeline’s budget' : 'its budget';
    const projected = b.projected_usd === null ? '' : `, projected $${b.projected_usd}`;
    const error = {
      category: 'budget_exceeded',
      message:
        `the run stopped at ${whose} of $${b.budget_usd} (spent $${b.spent_usd}${projected}); ${counts.done} of ${counts.total} tasks succeeded and their records are kept. ` +
        `POST /v1/runs/${runId}/retry with a higher max_cost_usd resumes it.`,
      ...b,
    };
    const progress = progressOf({ ...counts, ended: true, through_stages: locked.kind === 'pipeline' });
    await appendEvents(tx, runId, [{ type: 'run.failed', data: { progress, error } }]);
    await tx.execute(sql`update runs set status = 'failed', finished_at = now(), error = ${JSON.stringify(error)}::jsonb where id = ${runId}`);
    await tx.execute(sql`select pg_notify(${EVENTS_CHANNEL}, ${runId})`);
    await hooks.runEnded?.(tx, { id: runId, kind: locked.kind, parent_run_id: locked.parent_run_id, stage: locked.stage }, 'failed');
  });
}

/** The run if it is marked over budget, still in flight, and none of its tasks is running. */
const stoppable = (runId: string) =>
  sql`select r.id from runs r where r.id = ${runId} and r.budget_exceeded is not null and r.status in ('queued', 'running')
        and not exists (select 1 from tasks t where t.run_id = r.id and t.status = 'running')`;

/** Runs marked over budget with nothing running: a settle lost to a race or a dead worker; the reaper ends them. */
export async function settleStrandedOverBudget(db: Db, hooks: CommitHooks): Promise<number> {
  const stranded = await rows<{ id: string }>(
    db,
    sql`select r.id from runs r where r.status in ('queued', 'running') and r.budget_exceeded is not null
          and not exists (select 1 from tasks t where t.run_id = r.id and t.status = 'running')`,
  );
  for (const { id } of stranded) await settleOverBudget(db, id, hooks);
  return stranded.length;
}

const round6 = (n: number) => Math.round(n * 1e6) / 1e6;
