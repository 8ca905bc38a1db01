import { sql } from 'drizzle-orm';
import type { BatchLine } from '../src/llm/batch-api.js';
import type { TeacherRequest, TeacherResponse } from '../src/llm/teacher-request.js';
import { refreshRunBatchState } from './batch-runs.repository.js';
import { rows, type Db, type Tx } from './client.js';
import { TASKS_CHANNEL } from './queue.repository.js';

// The submitter and poller's SQL (src/queue/batch-runner.ts). Every step that several worker
// processes may take at once claims its rows with SKIP LOCKED or a lease, so each batch is
// written, submitted, recovered and polled by one process at a time.

/** An item whose batch expired or failed goes into one more batch; after that it fails. */
export const MAX_SUBMISSIONS = 2;

export interface PendingGroup {
  provider: string;
  model: string;
  count: number;
  /** How long its oldest item has waited. */
  waited_ms: number;
}

export async function pendingGroups(db: Db): Promise<PendingGroup[]> {
  return rows<PendingGroup>(
    db,
    sql`select provider, model, count(*)::int as count,
               (extract(epoch from now() - min(created_at)) * 1000)::float8 as waited_ms
          from batch_items where state = 'pending' group by provider, model`,
  );
}

export interface OpenedBatch {
  id: string;
  lines: BatchLine[];
}

/**
 * Takes up to `maxLines` of a group's pending items, oldest first (skipping those another process
 * is taking), keeps the first `fit(lines)` of them, and writes the batch `submitting` with them, in
 * one transaction: this row exists before the provider hears of the batch.
 */
export async function openBatch(
  db: Db,
  o: { id: string; provider: string; model: string; maxLines: number; leaseMs: number; fit: (lines: BatchLine[]) => number },
): Promise<OpenedBatch | undefined> {
  return db.transaction(async (tx) => {
    const items = await rows<{ id: number; request: TeacherRequest }>(
      tx,
      sql`select id::float8 as id, request from batch_items
           where state = 'pending' and provider = ${o.provider} and model = ${o.model}
           order by created_at, id limit ${o.maxLines} for update skip locked`,
    );
    if (items.length === 0) return undefined;
    const all = items.map((i) => ({ custom_id: `q${i.id}`, model: o.model, request: i.request }));
    const lines = all.slice(0, Math.max(1, o.fit(all)));
    const ids = items.slice(0, lines.length).map((i) => i.id);
    await tx.execute(
      sql`insert into batches (id, provider, model, state, lines, lease_until)
          values (${o.id}, ${o.provider}, ${o.model}, 'submitting', ${lines.length}, now() + make_interval(secs => ${o.leaseMs / 1000}))`,
    );
    await tx.execute(
      sql`update batch_items set state = 'submitted', batch_id = ${o.id}, submissions = submissions + 1
           where id = any(${sql.param(ids)}::bigint[])`,
    );
    return { id: o.id, lines };
  });
}

/** The item ids of a batch's lines (`custom_id`s are `q<id>`). */
export const itemIdOf = (customId: string): number | undefined => (/^q\d+$/.test(customId) ? Number(customId.slice(1)) : undefined);

/** The lines of a batch written `submitting` (to submit it again after its submitter died). */
export async function batchLines(db: Db, id: string, model: string): Promise<BatchLine[]> {
  const items = await rows<{ id: number; request: TeacherRequest }>(
    db,
    sql`select id::float8 as id, request from batch_items where batch_id = ${id} and state = 'submitted' order by id`,
  );
  return items.map((i) => ({ custom_id: `q${i.id}`, model, request: i.request }));
}

/** The provider has the batch: poll it from now on. `expectedEnd` is its completion window's end. */
export async function markSubmitted(db: Db, id: string, providerBatchId: string, windowMs: number): Promise<void> {
  await db.execute(
    sql`update batches set state = 'submitted', provider_batch_id = ${providerBatchId}, submitted_at = now(), lease_until = now(),
               expected_end = now() + make_interval(secs => ${windowMs / 1000})
         where id = ${id} and state = 'submitting'`,
  );
}

export interface OpenBatch {
  id: string;
  provider: string;
  model: string;
  provider_batch_id: string | null;
  created_at: Date;
  submitted_at: Date | null;
  /** None of its lines belongs to a run still in flight: it is canceled at the provider, not polled. */
  orphaned: boolean;
}

/**
 * Batches of `state` whose lease ran out (a dead submitter's `submitting` row, a `submitted` batch
 * due for its poll), leased again for `leaseMs` by this process alone.
 */
export async function claimBatches(db: Db, state: 'submitting' | 'submitted', leaseMs: number, limit: number): Promise<OpenBatch[]> {
  return rows<OpenBatch>(
    db,
    sql`with due as (
          select id from batches where state = ${state} and lease_until <= now()
           order by lease_until limit ${limit} for update skip locked
        )
        update batches b set lease_until = now() + make_interval(secs => ${leaseMs / 1000})
          from due where b.id = due.id
        returning b.id, b.provider, b.model, b.provider_batch_id, b.created_at, b.submitted_at,
                  not exists (select 1 from batch_items i join runs r on r.id = i.run_id
                               where i.batch_id = b.id and i.state = 'submitted' and r.status in ('queued', 'running')) as orphaned`,
  );
}

/** A batch still running at the provider: its line counts and when it should end, extrapolated from them. */
export async function saveProgress(db: Db, id: string, counts: Record<string, number>, expectedEnd: Date | undefined): Promise<void> {
  await db.execute(
    sql`update batches set counts = ${JSON.stringify(counts)}::jsonb, expected_end = coalesce(${expectedEnd?.toISOString() ?? null}::timestamptz, expected_end)
         where id = ${id} and state = 'submitted'`,
  );
}

export interface LineOutcome {
  itemId: number;
  response?: TeacherResponse;
  error?: { category: string; message: string };
  /** Not answered (its batch expired, failed or was canceled): into the next batch, if it may go again. */
  again?: boolean;
}

export interface WrittenResults {
  succeeded: number;
  errored: number;
  requeued: number;
}

/**
 * A finished batch's lines onto their items, in one transaction with the batch's end: answers →
 * done, line errors → failed, lines without an answer → pending again (once) or failed with
 * `unanswered`. The tasks that asked are due at once (and told so) instead of after their deferral.
 */
export async function endBatch(
  db: Db,
  id: string,
  state: 'ended' | 'canceled' | 'failed' | 'expired',
  lines: LineOutcome[],
  unanswered: { category: string; message: string },
): Promise<WrittenResults> {
  return db.transaction(async (tx) => {
    const answered = lines.filter((l) => !l.again);
    const done = answered.map((l) => (l.response ? 'done' : 'failed'));
    const written = await rows<{ state: string }>(
      tx,
      sql`update batch_items i set state = o.state, response = o.response::json, error = o.error::jsonb
            from unnest(${sql.param(answered.map((l) => l.itemId))}::bigint[], ${sql.param(done)}::text[],
                        ${sql.param(answered.map((l) => (l.response ? JSON.stringify(l.response) : null)))}::text[],
                        ${sql.param(answered.map((l) => (l.error ? JSON.stringify(l.error) : null)))}::text[]) as o(id, state, response, error)
           where i.id = o.id and i.batch_id = ${id} and i.state = 'submitted'
       returning o.state`,
    );
    const requeued = await requeueRest(tx, id, unanswered);
    await tx.execute(sql`update batches set state = ${state === 'expired' ? 'failed' : state}, ended_at = now(), error = ${state === 'ended' ? null : JSON.stringify({ state })}::jsonb where id = ${id}`);
    // The runs' output.batch before their tasks are woken: a run that ends next shows its batch done.
    await refreshRunBatchState(tx, id);
    await wakeAskers(tx, id);
    return { succeeded: written.filter((w) => w.state === 'done').length, errored: written.filter((w) => w.state === 'failed').length, requeued };
  });
}

/**
 * The batch's items still waiting: dropped if their run has ended (a retry of it asks afresh),
 * pending again if they may go once more, failed otherwise.
 */
async function requeueRest(tx: Tx, id: string, unanswered: { category: string; message: string }): Promise<number> {
  await tx.execute(
    sql`delete from batch_items i where i.batch_id = ${id} and i.state = 'submitted'
           and not exists (select 1 from runs r where r.id = i.run_id and r.status in ('queued', 'running'))`,
  );
  const again = await rows<{ id: number }>(
    tx,
    sql`update batch_items set state = 'pending', batch_id = null
         where batch_id = ${id} and state = 'submitted' and submissions < ${MAX_SUBMISSIONS}
     returning id`,
  );
  await tx.execute(sql`update batch_items set state = 'failed', error = ${JSON.stringify(unanswered)}::jsonb where batch_id = ${id} and state = 'submitted'`);
  return again.length;
}

/** Tasks that first asked for the batch's answered items, due now. */
async function wakeAskers(tx: Tx, id: string): Promise<void> {
  const woken = await rows<{ id: number }>(
    tx,
    sql`update tasks t set run_at = now()
          from (select distinct task_id from batch_items where batch_id = ${id} and state in ('done', 'failed')) i
         where t.id = i.task_id and t.status = 'queued' and t.run_at > now()
     returning t.id`,
  );
  if (woken.length > 0) await tx.execute(sql`select pg_notify(${TASKS_CHANNEL}, '')`);
}
