import type { Db, Tx } from './client.js';

/** The run a hook is told about: enough to tell whose rules apply (a pipeline's stage run has a parent). */
export interface HookedRun {
  id: string;
  kind: string;
  parent_run_id: string | null;
  stage: number | null;
}

export type RetryResult =
  | { requeued: number }
  | { refused: 'status'; status: string }
  | { refused: 'nothing' }
  /** Datasets the run writes that were deleted: its records would have nowhere to go. */
  | { refused: 'missing_datasets'; runId: string; datasets: Array<{ id: string; output: string }> };

/** Re-queues one ended run's unfinished tasks in the caller's transaction (the run's row locked first). */
export type Requeue = (tx: Tx, runId: string) => Promise<RetryResult>;

/**
 * What the job kinds decide when the queue moves a run along; the queue itself knows no job kind.
 * The commit, the cancel and the retry in db/ call these; the job modules supply them
 * (services/pipelines/pipeline.hooks.ts), and the composition root hands them in.
 */
export interface CommitHooks {
  /**
   * In the transaction that ends the run (its last task committed, a fatal failure, or a cancel),
   * with the run's row locked.
   */
  runEnded?(tx: Tx, run: HookedRun, outcome: 'succeeded' | 'failed' | 'canceled'): Promise<void>;
  /**
   * A retry of an ended run. Returns the result if the hook retried the run its own way (a pipeline
   * resumes its stopped stage), or undefined to let the run's own unfinished tasks be re-queued.
   */
  retryRun?(db: Db, run: Pick<HookedRun, 'id' | 'kind'>, requeue: Requeue): Promise<RetryResult | undefined>;
}
