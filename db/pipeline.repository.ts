import { sql } from 'drizzle-orm';
import { rows, type Tx } from './client.js';
import { appendEvents } from './events.repository.js';
import { CANCEL_CHANNEL, EVENTS_CHANNEL, TASKS_CHANNEL } from './queue.repository.js';

/**
 * Called in the transaction that ends a pipeline's stage run. Success queues the pipeline's next
 * advance task (planning the next stage, or finishing); anything else fails the pipeline, leaving
 * the datasets of the stages before intact.
 */
export async function stageEnded(tx: Tx, child: { id: string; parent_run_id: string; stage: number }, outcome: 'succeeded' | 'failed' | 'canceled') {
  const [parent] = await rows<{ id: string; status: string; total: number }>(
    tx,
    sql`select id, status, total from runs where id = ${child.parent_run_id} for update`,
  );
  if (!parent || !['queued', 'running'].includes(parent.status)) return;
  const [stats] = await rows<{ kind: string; records: number; dataset_id: string | null }>(
    tx,
    sql`select kind, records, output->>'dataset_id' as dataset_id from runs where id = ${child.id}`,
  );
  const stage = { stage: child.stage, kind: stats.kind, run_id: child.id, dataset_id: stats.dataset_id, rows_out: stats.records };
  if (outcome === 'succeeded') {
    const next = child.stage + 1;
    // The pipeline's total counts every advance, so the last one (`finish`) is stage count + 1.
    const key = next < parent.total - 1 ? `stage:${next}` : 'finish';
    await tx.execute(sql`insert into tasks (run_id, key, kind, payload) values (${parent.id}, ${key}, 'pipeline.advance', ${JSON.stringify({ stage: next, previous_run_id: child.id })}::jsonb)
      on conflict do nothing`);
    await appendEvents(tx, parent.id, [{ type: 'stage.completed', data: stage }]);
    await tx.execute(sql`select pg_notify(${TASKS_CHANNEL}, '')`);
  } else {
    const error = { category: 'stage_failed', message: `stage ${child.stage} (${stats.kind}, run ${child.id}) ${outcome}; the datasets of earlier stages are intact. POST /v1/runs/${parent.id}/retry resumes it.` };
    await tx.execute(sql`update tasks set status = 'canceled', updated_at = now() where run_id = ${parent.id} and status = 'queued'`);
    await tx.execute(sql`update runs set status = 'failed', finished_at = now(), error = ${JSON.stringify(error)}::jsonb where id = ${parent.id}`);
    await appendEvents(tx, parent.id, [
      { type: 'stage.failed', data: { ...stage, outcome } },
      { type: 'run.failed', data: { error } },
    ]);
    await tx.execute(sql`select pg_notify(${CANCEL_CHANNEL}, ${parent.id})`);
  }
  await tx.execute(sql`select pg_notify(${EVENTS_CHANNEL}, ${parent.id})`);
}

/** The stage run a failed or canceled pipeline stopped at, if any. */
export async function stoppedStage(ex: Tx | import('./client.js').Db, parentId: string): Promise<{ id: string; status: string } | undefined> {
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
  await tx.execute(sql`select pg_notify(${EVENTS_CHANNEL}, ${parentId})`);
}
