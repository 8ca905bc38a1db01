import { sql } from 'drizzle-orm';
import { rows, type Db, type Executor } from './client.js';

// What batches mean for runs: a run's batch state in its output, and the items its end leaves behind.

/** Answered items are kept this long after their run ended (a retry of the run reads them again), then dropped. */
const KEEP_ANSWERS = '1 hour';
/** Ended batch rows are kept this long (for inspection), then dropped. */
const KEEP_BATCHES = '7 days';

/**
 * Drops the pending items of runs that have ended (a cancel, a failure): they will not be
 * submitted. Returns how many.
 */
export async function dropEndedItems(db: Db): Promise<number> {
  const dropped = await rows<{ id: number }>(
    db,
    sql`delete from batch_items i using runs r
         where i.state = 'pending' and r.id = i.run_id and r.status not in ('queued', 'running')
     returning i.id`,
  );
  return dropped.length;
}

/** Answered items and ended batch rows past their retention go. */
export async function pruneBatches(db: Db): Promise<void> {
  await db.execute(
    sql`delete from batch_items i using runs r
         where i.state in ('done', 'failed') and r.id = i.run_id and r.finished_at < now() - ${KEEP_ANSWERS}::interval`,
  );
  await db.execute(sql`delete from batches where state in ('ended', 'canceled', 'failed') and ended_at < now() - ${KEEP_BATCHES}::interval`);
}

/**
 * Each run in flight with batch items (or only those with items in `batchId`) gets `output.batch`:
 * its items by state, the batches they are in, and when the last of those is expected to end (null
 * while none is submitted). Written only when it changed, so an idle poll writes nothing.
 */
export async function refreshRunBatchState(ex: Executor, batchId?: string): Promise<void> {
  const inBatch = batchId === undefined ? sql`true` : sql`i.batch_id = ${batchId}`;
  await ex.execute(
    sql`with live as (
          select distinct i.run_id from batch_items i join runs r on r.id = i.run_id where r.status in ('queued', 'running') and ${inBatch}
        ), state as (
          select i.run_id, jsonb_build_object(
                   'pending', count(*) filter (where i.state = 'pending'),
                   'submitted', count(*) filter (where i.state = 'submitted'),
                   'done', count(*) filter (where i.state = 'done'),
                   'failed', count(*) filter (where i.state = 'failed'),
                   'batches', count(distinct i.batch_id),
                   'expected_completion', to_char(max(b.expected_end) filter (where b.state = 'submitted') at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
                 ) as batch
            from batch_items i left join batches b on b.id = i.batch_id
           where i.run_id in (select run_id from live)
           group by i.run_id
        )
        update runs r set output = r.output || jsonb_build_object('batch', s.batch)
          from state s where r.id = s.run_id and r.output->'batch' is distinct from s.batch`,
  );
}
