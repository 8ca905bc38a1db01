import { sql } from 'drizzle-orm';
import { rows, type Db, type Tx } from './client.js';
import { budgetColumns, overBudget, type RunBudget } from './budget.repository.js';
import { addRunCounts, type RunCounts } from './counters.js';
import { appendEvents, type NewEvent } from './events.repository.js';
import { progressOf } from './progress.js';
import { EVENTS_CHANNEL, TASKS_CHANNEL, idList, type Outcome, type TaskFailure, type Usage } from './queue.repository.js';
import type { CommitHooks } from './run-hooks.js';
import { failRunNow, settleRun, type RunToSettle } from './settle.repository.js';
import { describeStorageError, isTransientStorageError } from './storage-errors.js';

/** Its id, kind, parent and budget come with RunBudget (budget.repository.ts). */
interface SharedRun extends RunBudget {
  status: string;
  stage: number | null;
  dataset_id: string | null;
  rejected_dataset_id: string | null;
  /** The run's datasets whose records are not its records: rejected, unselected, staging copies. */
  uncounted: string[] | null;
}

/**
 * Output keys of datasets a run writes that are not its result: what it rejected or left unselected,
 * and the staging copies a later task of the run reads (tool curate's judged set, the semantic dedup
 * input, select's scored input). Their records never count in `progress.records`.
 */
const UNCOUNTED_OUTPUTS = ['rejected_dataset_id', 'unselected_dataset_id', 'judged_dataset_id', 'semantic_input_dataset_id', 'scored_dataset_id', 'input_dataset_id'] as const;
const uncountedList = sql.raw(`array[${UNCOUNTED_OUTPUTS.map((k) => `output->>'${k}'`).join(', ')}]`);

type Succeeded = Extract<Outcome, { type: 'succeeded' }>;

/**
 * Commits a batch of outcomes in one transaction: a task's records, its events, its completion and
 * its share of the run's counters land together or not at all. Batching amortises the commit (and
 * fsync) over many tasks; every statement has the same text whatever the batch holds, so each is
 * prepared once per connection.
 *
 * No commit waits for another: the runs are share-locked (a cancel or retry, which lock them for
 * update, waits for the commit or is waited for), counters go to this writer's own row, and events
 * are appended unnumbered. A run whose last task this may have been is settled (ended, its hooks
 * called) right after, in a transaction of its own; a fatal failure fails its run in the commit
 * itself, so no more of its tasks are claimed (settle.repository.ts).
 */
export async function commitOutcomes(
  db: Db,
  writer: string,
  outcomes: Outcome[],
  hooks: CommitHooks = {},
  onSettleError: (err: unknown, runId: string) => void = () => {},
): Promise<void> {
  if (outcomes.length === 0) return;
  const unsettled = await db.transaction(async (tx) => {
    const runIds = [...new Set(outcomes.map((o) => o.task.run_id))].sort();
    const runs = await shareRuns(tx, runIds);
    const settle: RunToSettle[] = [];
    // A stage's fatal failure fails its pipeline inside this commit: a pipeline later in the batch
    // is read again, or its outcomes would land (and stream) after its terminal event.
    let stale = false;
    for (const read of runs) {
      const run = stale ? ((await shareRuns(tx, [read.id]))[0] ?? read) : read;
      const result = await commitRunIsolated(tx, run, writer, outcomes.filter((o) => o.task.run_id === run.id), hooks);
      if (result === 'settle') settle.push({ id: run.id });
      if (result === 'failed' && run.parent_run_id !== null) stale = true;
    }
    await tx.execute(sql`select pg_notify(${EVENTS_CHANNEL}, r) from unnest(${sql.param(runIds)}::text[]) as r`);
    return settle;
  });
  // What is committed stays committed: a settle that fails is done again by the reaper's sweep.
  for (const run of unsettled) await settleRun(db, run, hooks).catch((err) => onSettleError(err, run.id));
}

async function shareRuns(tx: Tx, runIds: string[]): Promise<SharedRun[]> {
  return rows<SharedRun>(
    tx,
    sql`select id, kind, status, parent_run_id, stage, output->>'dataset_id' as dataset_id, output->>'rejected_dataset_id' as rejected_dataset_id, ${uncountedList} as uncounted, ${budgetColumns} from runs
         where id = any(${sql.param(runIds)}::text[]) order by id for key share`,
  );
}

/**
 * A run's outcomes commit under a savepoint of their own, so outcomes that cannot be stored roll
 * back alone and never hold up other runs (other tenants' work) in the same batch. Only after a
 * failure are the run's outcomes tried one by one, and those that still fail fail their task with
 * category `storage`.
 */
async function commitRunIsolated(tx: Tx, run: SharedRun, writer: string, outcomes: Outcome[], hooks: CommitHooks): Promise<CommitResult> {
  try {
    return await tx.transaction((sp) => commitRunOutcomes(sp, run, writer, outcomes, hooks));
  } catch (err) {
    // A lost connection or a deadlock says nothing about the data: the whole batch is tried again.
    if (isTransientStorageError(err)) throw err;
  }
  const gone = await missingDatasets(tx, outcomes);
  let ended: CommitResult;
  for (const o of outcomes) {
    const commit = async (outcome: Outcome) => {
      const result = await tx.transaction((sp) => commitRunOutcomes(sp, run, writer, [outcome], hooks));
      // Once the run has failed, the rest are dropped with it, as a cancel would.
      if (result === 'failed') run = { ...run, status: 'failed' };
      if (result !== undefined && ended !== 'failed') ended = result;
    };
    const lost = o.type === 'succeeded' ? targetDatasets([o]).find((id) => gone.has(id)) : undefined;
    if (lost) {
      // Every later record of the run would fail the same way: fail the run now, with the reason.
      await commit(storageFailure(o, `dataset ${lost}, which this run writes, no longer exists (it was deleted while the run was in flight); the run cannot finish`, true));
      continue;
    }
    try {
      await commit(o);
    } catch (err) {
      if (isTransientStorageError(err)) throw err;
      await commit(storageFailure(o, `the task's outcome could not be stored: ${describeStorageError(err)}`, false));
    }
  }
  return ended;
}

function storageFailure(o: Outcome, message: string, fatal: boolean): Outcome {
  return { type: fatal ? 'fatal' : 'failed', task: o.task, error: { category: 'storage', message }, usage: o.usage };
}

function targetDatasets(outcomes: Outcome[]): string[] {
  const ids = new Set<string>();
  for (const o of outcomes) if (o.type === 'succeeded') for (const r of o.records) ids.add(r.datasetId ?? o.datasetId);
  return [...ids];
}

/** The datasets these outcomes write into that are gone (deleted under a running task). */
async function missingDatasets(tx: Tx, outcomes: Outcome[]): Promise<Set<string>> {
  const wanted = targetDatasets(outcomes);
  if (wanted.length === 0) return new Set();
  const present = await rows<{ id: string }>(tx, sql`select id from datasets where id = any(${sql.param(wanted)}::text[])`);
  const found = new Set(present.map((r) => r.id));
  return new Set(wanted.filter((id) => !found.has(id)));
}

/** 'failed' when a fatal failure ended the run, 'settle' when nothing of it is queued any more (it may be done). */
type CommitResult = 'failed' | 'settle' | undefined;

async function commitRunOutcomes(tx: Tx, run: SharedRun, writer: string, outcomes: Outcome[], hooks: CommitHooks): Promise<CommitResult> {
  const live = run.status === 'running' || run.status === 'queued';
  // A task reaped from under this worker was queued again for someone else: its outcome is dropped, not doubled.
  const owned = await finishTasks(tx, writer, outcomes, live);
  const mine = outcomes.filter((o) => owned.has(o.task.id));
  if (mine.length === 0) return undefined;
  const usage = sumUsage(mine.map((o) => o.usage));
  if (!live) {
    // The run was canceled or failed while these were in flight: keep the spend, drop the work.
    await addRunCounts(tx, run.id, writer, { ...NONE, ...usage });
    return undefined;
  }
  if (mine.some((o) => o.type === 'aborted')) await tx.execute(sql`select pg_notify(${TASKS_CHANNEL}, '')`);
  const succeeded = mine.filter((o): o is Succeeded => o.type === 'succeeded');
  const inserted = await insertRecords(tx, writer, succeeded);
  const events: NewEvent[] = [];
  const ts = Date.now();
  // A run's records are what it wrote anywhere but its rejected, unselected and staging sets (knowledge flows count).
  const uncounted = new Set(run.uncounted ?? []);
  let kept = 0;
  for (const o of succeeded) {
    for (const r of o.records) {
      const datasetId = r.datasetId ?? o.datasetId;
      const recordId = inserted.get(`${datasetId}\u0000${r.key}`);
      if (recordId === undefined) continue;
      if (!uncounted.has(datasetId)) kept++;
      events.push({ type: 'record.created', data: { task: o.task.key, key: r.key, ...(datasetId !== run.dataset_id ? { dataset_id: datasetId } : {}), ts }, recordId });
    }
  }
  const spawned = await spawnTasks(tx, run.id, succeeded.flatMap((o) => o.spawn ?? []));
  for (const o of succeeded) {
    if (o.events) events.push(...o.events);
    if (o.output) await tx.execute(sql`update runs set output = output || ${JSON.stringify(o.output)}::jsonb where id = ${run.id}`);
  }
  let failed = 0;
  let fatal: TaskFailure | undefined;
  for (const o of mine) {
    if (o.type === 'retry') {
      events.push({ type: 'task.retrying', data: { task: o.task.key, attempt: o.task.attempts, delay_ms: o.delayMs, error: o.error } });
    } else if (o.type === 'failed' || o.type === 'fatal') {
      failed++;
      if (o.type === 'fatal') fatal ??= o.error;
      events.push({ type: 'record.failed', data: { task: o.task.key, attempts: o.task.attempts, ...o.error } });
    }
  }
  const counts = await addRunCounts(tx, run.id, writer, { ...usage, total: spawned, done: succeeded.length, failed, records: kept });
  events.push({ type: 'progress', data: progressOf({ ...counts, through_stages: run.kind === 'pipeline', batch_expected_completion: run.batch_expected_completion }) });
  await appendEvents(tx, run.id, events);
  if (fatal) {
    await failRunNow(tx, { id: run.id, kind: run.kind, parent_run_id: run.parent_run_id, stage: run.stage }, fatal, hooks);
    return 'failed';
  }
  // Every commit checks the budget, queued or not: claimed tasks may wait unstarted in a worker's buffer, and the mark hands them back.
  // Once nothing is queued, or the run is over budget, any commit may be its last (another's may be beside it, unseen): settled after.
  return (await overBudget(tx, run, counts)) || !counts.queued ? 'settle' : undefined;
}

const NONE: RunCounts = { total: 0, done: 0, failed: 0, records: 0, requests: 0, input_tokens: 0, output_tokens: 0, cost_usd: 0, cache_hits: 0 };

/**
 * Every task of the batch to its next state in one statement, but only those this worker still
 * holds; returns their ids. Succeeded → succeeded; retry → queued after its delay; failed or
 * fatal → failed; aborted by a cancel a retry has since superseded, or deferred (waiting for a
 * batch, after its delay) → queued, the attempt not charged. Any task of a run that has ended → canceled.
 */
async function finishTasks(tx: Tx, writer: string, outcomes: Outcome[], live: boolean): Promise<Set<number>> {
  const next = outcomes.map((o) => {
    if (!live) return { status: 'canceled', delay: 0, error: null, keep: true, uncharge: false };
    switch (o.type) {
      case 'succeeded':
        return { status: 'succeeded', delay: 0, error: null, keep: false, uncharge: false };
      case 'retry':
        return { status: 'queued', delay: o.delayMs / 1000, error: JSON.stringify(o.error), keep: false, uncharge: false };
      case 'aborted':
      case 'deferred':
        return { status: 'queued', delay: o.type === 'deferred' ? o.delayMs / 1000 : 0, error: null, keep: true, uncharge: true };
      default:
        return { status: 'failed', delay: 0, error: JSON.stringify(o.error), keep: false, uncharge: false };
    }
  });
  const owned = await rows<{ id: number }>(
    tx,
    sql`update tasks t set status = o.status, lease_until = null,
          worker_id = case when o.status = 'queued' then null else t.worker_id end,
          run_at = case when o.status = 'queued' then now() + make_interval(secs => o.delay_s) else t.run_at end,
          attempts = case when o.uncharge = 1 then greatest(t.attempts - 1, 0) else t.attempts end,
          last_error = case when o.keep = 1 then t.last_error else o.error::jsonb end, updated_at = now()
        from unnest(${idList(outcomes.map((o) => o.task.id))}, ${sql.param(next.map((n) => n.status))}::text[],
                    ${sql.param(next.map((n) => n.delay))}::float8[], ${sql.param(next.map((n) => n.error))}::text[],
                    ${sql.param(next.map((n) => Number(n.keep)))}::int[], ${sql.param(next.map((n) => Number(n.uncharge)))}::int[])
             as o(id, status, delay_s, error, keep, uncharge)
       where t.id = o.id and t.worker_id = ${writer} and t.status = 'running'
   returning t.id::int as id`,
  );
  return new Set(owned.map((r) => r.id));
}

/** Inserts follow-up tasks; returns how many are new (a redone task's spawns already exist). */
async function spawnTasks(tx: Tx, runId: string, spawn: Array<{ key: string; kind: string; payload: unknown; maxAttempts?: number }>): Promise<number> {
  if (spawn.length === 0) return 0;
  // The payloads go as one JSON array, not a text[]: the driver escapes an array parameter element
  // by element on the event loop, and a finisher spawning 600 write tasks (300,000 decided records)
  // held it for 5.8 s that way; one JSON.stringify of the same array is native and a tenth of that.
  const fresh = await rows<{ id: number }>(
    tx,
    sql`insert into tasks (run_id, key, kind, payload, max_attempts)
        select ${runId}, s.key, s.kind, p.payload::jsonb, s.max_attempts
          from unnest(${sql.param(spawn.map((t) => t.key))}::text[], ${sql.param(spawn.map((t) => t.kind))}::text[],
                      ${sql.param(spawn.map((t) => t.maxAttempts ?? 3))}::int[])
               with ordinality as s(key, kind, max_attempts, n)
          join json_array_elements(${JSON.stringify(spawn.map((t) => t.payload ?? null))}::json) with ordinality as p(payload, n) on p.n = s.n
         order by s.n
        on conflict do nothing returning id`,
  );
  if (fresh.length > 0) await tx.execute(sql`select pg_notify(${TASKS_CHANNEL}, '')`);
  return fresh.length;
}

/**
 * The batch's records in one statement (keys already present, from a task redone after a lost
 * lease, are skipped), counted into this writer's row of each dataset's count. Returns the new
 * ones' ids by dataset and key.
 */
async function insertRecords(tx: Tx, writer: string, succeeded: Succeeded[]): Promise<Map<string, number>> {
  const values = succeeded.flatMap((o) => o.records.map((r) => ({ datasetId: r.datasetId ?? o.datasetId, key: r.key, data: JSON.stringify(r.data), unrenderable: r.unrenderable ?? null })));
  if (values.length === 0) return new Map();
  const fresh = await rows<{ id: number; dataset_id: string; key: string }>(
    tx,
    sql`with added as (
          insert into records (dataset_id, key, data, unrenderable)
          select r.dataset_id, r.key, r.data::json, r.unrenderable
            from unnest(${sql.param(values.map((v) => v.datasetId))}::text[], ${sql.param(values.map((v) => v.key))}::text[],
                        ${sql.param(values.map((v) => v.data))}::text[], ${sql.param(values.map((v) => v.unrenderable))}::text[])
                 with ordinality as r(dataset_id, key, data, unrenderable, n)
           order by r.n
          on conflict do nothing returning id, dataset_id, key
        ), counted as (
          insert into dataset_counts (dataset_id, writer, n)
          select dataset_id, ${writer}, count(*) from added group by dataset_id
          on conflict (dataset_id, writer) do update set n = dataset_counts.n + excluded.n
        )
        select id::float8 as id, dataset_id, key from added`,
  );
  // A record written without knowing its formats (`unrenderable` left out) makes its dataset one an export reads whole.
  const untagged = [...new Set(succeeded.flatMap((o) => o.records.filter((r) => r.unrenderable === undefined).map((r) => r.datasetId ?? o.datasetId)))];
  if (untagged.length > 0) await tx.execute(sql`update datasets set tagged = false where id = any(${sql.param(untagged)}::text[]) and tagged`);
  return new Map(fresh.map((r) => [`${r.dataset_id}\u0000${r.key}`, Number(r.id)]));
}

function sumUsage(list: Usage[]): Usage {
  const total = { requests: 0, input_tokens: 0, output_tokens: 0, cost_usd: 0, cache_hits: 0 };
  for (const u of list) {
    total.requests += u.requests;
    total.input_tokens += u.input_tokens;
    total.output_tokens += u.output_tokens;
    total.cost_usd += u.cost_usd;
    total.cache_hits += u.cache_hits;
  }
  return total;
}
