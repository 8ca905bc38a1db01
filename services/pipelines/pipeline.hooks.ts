import type { Db, Tx } from '../../db/client.js';
import { appendEvents } from '../../db/events.repository.js';
import {
  failRun, liveChildRuns, lockRun, lockRunsInOrder, notifyEvents, queueTask, reopenPipeline, runStatus, stageOutput, stoppedStage,
} from '../../db/pipeline.repository.js';
import type { CommitHooks, HookedRun, Requeue, RetryResult } from '../../db/run-hooks.js';
import { cancelRun } from '../../db/runs.repository.js';
import { advanceTask } from './pipeline.task.js';

const RETRYABLE = ['failed', 'canceled'];

/**
 * A stage run ended, in the transaction that ended it. Success queues the pipeline's next advance
 * task (planning the next stage, or finishing); anything else fails the pipeline, leaving the
 * datasets of the stages before intact.
 */
async function stageEnded(tx: Tx, run: HookedRun, outcome: 'succeeded' | 'failed' | 'canceled'): Promise<void> {
  if (run.parent_run_id === null) return;
  const parent = await lockRun(tx, run.parent_run_id);
  if (!parent || !['queued', 'running'].includes(parent.status)) return;
  const stage = run.stage ?? 0;
  const produced = await stageOutput(tx, run.id);
  const summary = { stage, kind: run.kind, run_id: run.id, dataset_id: produced.dataset_id, rows_out: produced.records, usage: produced.usage };
  if (outcome === 'succeeded') {
    const next = stage + 1;
    // The pipeline's total counts every advance, so the last one (`finish`) is stage count + 1.
    const key = next < parent.total - 1 ? `stage:${next}` : 'finish';
    await queueTask(tx, parent.id, advanceTask.plan(key, { stage: next, previous_run_id: run.id }));
    await appendEvents(tx, parent.id, [{ type: 'stage.completed', data: summary }]);
  } else {
    // The stage's own error says why (a fatal teacher error, tasks that failed, with the first one's); a cancel has none.
    const cause = {
      ...(produced.error ?? { category: 'canceled', message: `stage run ${run.id} was canceled` }),
      ...(produced.first_failure ? { first_failure: produced.first_failure } : {}),
    };
    // A stage stopped at a budget stops its pipeline for the same reason, resumable the same way.
    const error = {
      category: cause.category === 'budget_exceeded' ? 'budget_exceeded' : 'stage_failed',
      message: `stage ${stage} (${run.kind}, run ${run.id}) ${outcome} (${cause.category}); the datasets of earlier stages are intact. POST /v1/runs/${parent.id}/retry resumes it.`,
      cause,
    };
    await failRun(tx, parent.id, error);
    await appendEvents(tx, parent.id, [
      { type: 'stage.failed', data: { ...summary, outcome, error: cause } },
      { type: 'run.failed', data: { error } },
    ]);
  }
  await notifyEvents(tx, parent.id);
}

/**
 * A pipeline resumes by retrying the stage run it stopped at; the stage's completion advances it
 * again. The stage is re-queued and the pipeline reopened in one transaction, so a stage that
 * finishes fast finds its pipeline running, and a second retry at the same moment finds it running too.
 */
async function retryPipeline(db: Db, run: Pick<HookedRun, 'id' | 'kind'>, requeue: Requeue): Promise<RetryResult | undefined> {
  if (run.kind !== 'pipeline') return undefined;
  const status = await runStatus(db, run.id);
  if (!status || !RETRYABLE.includes(status)) return { refused: 'status', status: status ?? 'missing' };
  // A cancel still reaching the running stage is finished first, so that the retry supersedes it.
  for (const child of await liveChildRuns(db, run.id)) await cancelRun(db, child, pipelineHooks);
  const child = await stoppedStage(db, run.id);
  if (!child) return { refused: 'nothing' };
  return db.transaction(async (tx) => {
    const locked = await lockRunsInOrder(tx, [run.id, child.id]);
    const pipeline = locked.find((r) => r.id === run.id);
    if (!pipeline || !RETRYABLE.includes(pipeline.status)) return { refused: 'status', status: pipeline?.status ?? 'missing' };
    const result = await requeue(tx, child.id);
    if ('requeued' in result) await reopenPipeline(tx, run.id, child.id);
    return result;
  });
}

/** A pipeline's rules for the queue: what its stage runs' ends and its retries do. */
export const pipelineHooks: CommitHooks = { runEnded: stageEnded, retryRun: retryPipeline };
