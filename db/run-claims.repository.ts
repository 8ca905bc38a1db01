import { sql } from 'drizzle-orm';
import { rows, type Executor } from './client.js';

/**
 * Claims a once-per-run step (a finisher's work) for `holder`, a task key: true when this holder
 * has it, whether it took it now or held it before (its own retry). Finisher checks can run side
 * by side when the last phase-1 tasks commit in one batch; the claim is one conditional update, so
 * exactly one of them does the work. The claim is kept in the run's output under `step`.
 */
export async function claimRunStep(ex: Executor, runId: string, step: string, holder: string): Promise<boolean> {
  const claimed = await rows<{ id: string }>(
    ex,
    sql`update runs set output = output || jsonb_build_object(${step}::text, ${holder}::text)
         where id = ${runId} and (output->>${step} is null or output->>${step} = ${holder}) returning id`,
  );
  return claimed.length > 0;
}

/**
 * Whether the run has a task of one of `kinds` not yet succeeded (queued, running, failed or
 * canceled). A job's finisher runs once every phase-1 task is done: each phase-1 commit queues a
 * check, and only the check that finds none left does the work. An exists over the (run_id, status)
 * index stops at the first unfinished task, so a check costs a seek, not a count.
 */
export async function hasUnfinishedTasks(ex: Executor, runId: string, kinds: string[]): Promise<boolean> {
  const [row] = await rows<{ found: boolean }>(
    ex,
    sql`select exists (select 1 from tasks where run_id = ${runId} and status in ('queued', 'running', 'failed', 'canceled')
                        and kind = any(${sql.param(kinds)}::text[])) as found`,
  );
  return row?.found ?? false;
}
