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
