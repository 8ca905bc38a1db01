import { sql } from 'drizzle-orm';
import { rows, type Executor, type Tx } from './client.js';
import { runFields } from './counters.js';
import { appendEvents } from './events.repository.js';
import { CANCEL_CHANNEL, EVENTS_CHANNEL, TASKS_CHANNEL } from './queue.repository.js';

// The queries a pipeline's hooks (services/pipelines/pipeline.hooks.ts) are made of. What a
// pipeline does when a stage ends or is retried is decided there, not here.

/** Locks a run's row; undefined if it is gone. */
export async function lockRun(tx: Tx, id: string): Promise<{ id: string; status: string; total: number } | undefined> {
  const [run] = await rows<{ id: string; status: string; total: number }>(tx, sql`select id, status, total from runs where id = ${id} for update`);
  return run;
}

/** Locks runs' rows in id order, as a commit locks them, so the two cannot deadlock. */
export async function lockRunsInOrder(tx: Tx, ids: string[]): Promise<Array<{ id: string; status: string }>> {
  return rows<{ id: string; status: string }>(tx, sql`select id, status from runs where id = any(${sql.param(ids)}::text[]) order by id for update`);
}

export async function runStatus(ex: Executor, id: string): Promise<string | undefined> {
  const [run] = await rows<{ status: string }>(ex, sql`select status from runs where id = ${id}`);
  return run?.status;
}

export interface StageOutput {
  records: number;
  dataset_id: string | null;
  usage: { requests: number; input_tokens: number; output_tokens: number; cost_usd: number; cache_hits: number };
  /** Why the stage run failed, as its own `error` says (null when it did not, or was canceled). */
  error: { category: string; message: string } | null;
  /** The last error of its first failed task, if any: what a `tasks_failed` stage actually met. */
  first_failure: { category: string; message: string } | null;
}

/** What a stage run produced, spent and, if it failed, why: for its pipeline's stage events. */
export async function stageOutput(ex: Executor, id: string): Promise<StageOutput> {
  const [row] = await rows<Omit<StageOutput, 'usage'> & StageOutput['usage']>(
    ex,
    sql`select ${runFields.records} as records, output->>'dataset_id' as dataset_id, error,
               (select t.last_error from tasks t where t.run_id = runs.id and t.status = 'failed' order by t.id limit 1) as first_failure,
               ${runFields.requests} as requests, ${runFields.inputTokens} as input_tokens,
               ${runFields.outputTokens} as output_tokens, ${runFields.costUsd} as cost_usd, ${runFields.cacheHits} as cache_hits
          from runs where id = ${id}`,
  );
  const usage = { requests: Number(row.requests), input_tokens: Number(row.input_tokens), output_tokens: Number(row.output_tokens), cost_usd: Number(row.cost_usd), cache_hits: Number(row.cache_hits) };
  return { records: Number(row.records), dataset_id: row.dataset_id, error: row.error, first_failure: row.first_failure, usage };
}

/** Queues one more task of a running run (once: a task key that exists already is left alone). */
export async function queueTask(tx: Tx, runId: string, task: { key: string; kind: string; payload: Record<string, unknown> }): Promise<void> {
  await tx.execute(sql`insert into tasks (run_id, key, kind, payload) values (${runId}, ${task.key}, ${task.kind}, ${JSON.stringify(task.payload)}::jsonb)
    on conflict do nothing`);
  await tx.execute(sql`select pg_notify(${TASKS_CHANNEL}, '')`);
}

/** Fails a running run now: its queued tasks are withdrawn and workers abort its in-flight ones. */
export async function failRun(tx: Tx, runId: string, error: Record<string, unknown>): Promise<void> {
  await tx.execute(sql`update tasks set status = 'canceled', updated_at = now() where run_id = ${runId} and status = 'queued'`);
  await tx.execute(sql`update runs set status = 'failed', finished_at = now(), error = ${JSON.stringify(error)}::jsonb where id = ${runId}`);
  await tx.execute(sql`select pg_notify(${CANCEL_CHANNEL}, ${runId})`);
}

export async function notifyEvents(ex: Executor, runId: string): Promise<void> {
  await ex.execute(sql`select pg_notify(${EVENTS_CHANNEL}, ${runId})`);
}

/** A run's child runs (a pipeline's stages) that have not ended. */
export async function liveChildRuns(ex: Executor, parentId: string): Promise<string[]> {
  const live = await rows<{ id: string }>(ex, sql`select id from runs where parent_run_id = ${parentId} and status in ('queued', 'running')`);
  return live.map((r) => r.id);
}

/** The stage run a failed or canceled pipeline stopped at, if any. */
export async function stoppedStage(ex: Executor, parentId: string): Promise<{ id: string; status: string } | undefined> {
  const [child] = await rows<{ id: string; status: string }>(
    ex,
    sql`select id, status from runs where parent_run_id = ${parentId} and status in ('failed', 'canceled') order by stage desc limit 1`,
  );
  return child;
}

/** Puts a failed pipeline back to running once its stopped stage has been re-queued. */
export async function reopenPipeline(tx: Tx, parentId: string, childId: string): Promise<void> {
  await tx.execute(sql`update runs set status = 'running', finished_at = null, error = null where id = ${parentId}`);
  await appendEvents(tx, parentId, [{ type: 'run.retried', data: { stage_run_id: childId } }]);
  await notifyEvents(tx, parentId);
}
