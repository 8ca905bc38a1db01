import { sql } from 'drizzle-orm';
import { datasetFields } from '../db/counters.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { rows, type Database, type Tx } from '../db/client.js';
import { commitOutcomes } from '../db/outcomes.repository.js';
import { claimTasks, reapExpired, type ClaimedTask, type Outcome } from '../db/queue.repository.js';
import type { CommitHooks, HookedRun } from '../db/run-hooks.js';
import { cancelRun, markRunsStarted } from '../db/runs.repository.js';
import { pipelineHooks } from '../services/pipelines/pipeline.hooks.js';
import { DATABASES } from './support/databases.js';
import { eventTypes, openQueueDatabase, planRun, runRow, succeeded, tasksOf, usage } from './support/queue-db.js';

/** Medium level: committing, reaping and canceling against a real database, no worker and no HTTP. */
describe.each(DATABASES)('committing outcomes (%s)', (db) => {
  let sut: Database;
  let q: Awaited<ReturnType<typeof openQueueDatabase>>;
  beforeAll(async () => {
    q = await openQueueDatabase(db);
    sut = q.sut;
  });
  afterAll(() => q?.close());
  beforeEach(() => q.reset());

  /** Claims as a worker does: the runs it took tasks of are marked started. */
  async function claim(worker: string, limit: number) {
    const claimed = await claimTasks(sut.db, worker, limit, 30);
    await markRunsStarted(sut.db, [...new Set(claimed.map((t) => t.run_id))]);
    return claimed.sort((a, b) => a.id - b.id);
  }
  /** Claims everything due; returns a run's tasks in plan order. */
  async function claimAll(worker = 'w1') {
    const claimed = await claim(worker, 1000);
    return (runId: string) => claimed.filter((t) => t.run_id === runId);
  }
  const retry = (task: ClaimedTask, delayMs: number, message: string): Outcome => ({ type: 'retry', task, delayMs, error: { category: 'rate_limited', message }, usage: usage() });
  const failed = (task: ClaimedTask, message: string, type: 'failed' | 'fatal' = 'failed'): Outcome => ({ type, task, error: { category: 'api', message }, usage: usage() });

  it('commits records, counters, retries and failures of several runs in one batch, each task with its own error and delay', async () => {
    const a = await planRun(sut, 'key-a', 4);
    const b = await planRun(sut, 'key-b', 3);
    const of = await claimAll();
    const [a0, a1, a2, a3] = of(a.id);
    const [b0, b1, b2] = of(b.id);
    await commitOutcomes(sut.db, 'w1', [
      succeeded(a0, a.datasetId, 2), retry(a1, 3_600_000, 'a1 later'), succeeded(a2, a.datasetId), retry(a3, 2_000, 'a3 soon'),
      failed(b0, 'b0 broke'), succeeded(b1, b.datasetId), failed(b2, 'b2 "quoted", {braced}'),
    ]);

    const tasksA = await tasksOf(sut, a.id);
    expect(tasksA.map((t) => [t.key, t.status, t.last_error?.message ?? null, t.worker_id])).toEqual([
      ['t0', 'succeeded', null, 'w1'], ['t1', 'queued', 'a1 later', null], ['t2', 'succeeded', null, 'w1'], ['t3', 'queued', 'a3 soon', null],
    ]);
    // Each retry waits its own delay.
    expect(tasksA[1].due_in_s).toBeGreaterThan(3500);
    expect(tasksA[3].due_in_s).toBeGreaterThan(0);
    expect(tasksA[3].due_in_s).toBeLessThan(3);
    expect((await tasksOf(sut, b.id)).map((t) => [t.status, t.last_error?.message ?? null])).toEqual([
      ['failed', 'b0 broke'], ['succeeded', null], ['failed', 'b2 "quoted", {braced}'],
    ]);
    expect(await runRow(sut, a.id)).toMatchObject({ status: 'running', total: 4, done: 2, failed: 0, records: 3, requests: 4, input_tokens: 40 });
    expect(await runRow(sut, b.id)).toMatchObject({ status: 'failed', total: 3, done: 1, failed: 2, records: 1, requests: 3, error: { category: 'tasks_failed' } });
    const stored = await rows<{ dataset_id: string; n: number }>(sut.db, sql`select dataset_id, count(*)::int as n from records group by dataset_id`);
    expect(Object.fromEntries(stored.map((r) => [r.dataset_id, r.n]))).toEqual({ [a.datasetId]: 3, [b.datasetId]: 1 });
    const counts = await rows<{ id: string; record_count: number }>(sut.db, sql`select id, ${datasetFields.recordCount} as record_count from datasets`);
    expect(Object.fromEntries(counts.map((r) => [r.id, r.record_count]))).toEqual({ [a.datasetId]: 3, [b.datasetId]: 1 });
    expect((await eventTypes(sut, a.id)).filter((t) => t !== 'progress')).toEqual(['run.queued', 'run.started', 'record.created', 'record.created', 'record.created', 'task.retrying', 'task.retrying']);
    expect((await eventTypes(sut, b.id)).slice(-2)).toEqual(['progress', 'run.failed']);
  });

  it('a batch of 300 retries and failures keeps every task’s own error', async () => {
    const run = await planRun(sut, 'key-a', 300);
    const tasks = (await claimAll())(run.id);
    await commitOutcomes(sut.db, 'w1', tasks.map((t, i) => (i % 2 ? retry(t, 1000 + i * 1000, `retry ${t.key}`) : failed(t, `fail ${t.key}`))));
    const after = await tasksOf(sut, run.id);
    expect(after.filter((t) => t.last_error?.message !== `${t.status === 'queued' ? 'retry' : 'fail'} ${t.key}`)).toEqual([]);
    expect(after.filter((t) => t.status === 'queued')).toHaveLength(150);
    // Delays stay with their tasks: later keys were given longer ones.
    const queued = after.filter((t) => t.status === 'queued');
    expect(queued.every((t, i) => i === 0 || t.due_in_s > queued[i - 1].due_in_s)).toBe(true);
    expect(await runRow(sut, run.id)).toMatchObject({ status: 'running', failed: 150, done: 0 });
  });

  it('a fatal failure fails the run at once and withdraws its queued tasks', async () => {
    const run = await planRun(sut, 'key-a', 5);
    const [t0] = (await claim('w1', 1));
    await commitOutcomes(sut.db, 'w1', [failed(t0, 'bad credentials', 'fatal')]);
    expect(await runRow(sut, run.id)).toMatchObject({ status: 'failed', failed: 1, error: { message: 'bad credentials' } });
    expect((await tasksOf(sut, run.id)).map((t) => t.status)).toEqual(['failed', 'canceled', 'canceled', 'canceled', 'canceled']);
  });

  it('drops the outcome of a task reaped from under its worker (another worker holds it now)', async () => {
    const run = await planRun(sut, 'key-a', 1);
    const [task] = await claim('w1', 1);
    await sut.db.execute(sql`update tasks set lease_until = now() - interval '1 second' where id = ${task.id}`);
    expect(await reapExpired(sut.db)).toEqual({ requeued: 1, exhausted: [] });
    const [again] = await claim('w2', 1);
    expect(again).toMatchObject({ id: task.id, attempts: 2 });
    await commitOutcomes(sut.db, 'w1', [succeeded(task, run.datasetId)]);
    expect(await runRow(sut, run.id)).toMatchObject({ status: 'running', done: 0, records: 0 });
    await commitOutcomes(sut.db, 'w2', [succeeded(again, run.datasetId)]);
    expect(await runRow(sut, run.id)).toMatchObject({ status: 'succeeded', done: 1, records: 1 });
  });

  it('reaping: an expired lease is queued again (the attempt stays charged); a task out of attempts is failed', async () => {
    const run = await planRun(sut, 'key-a', 2, { maxAttempts: 2 });
    const claimed = await claim('w1', 10);
    // Only t0's lease runs out; t1's holder is alive.
    await sut.db.execute(sql`update tasks set lease_until = now() - interval '1 second' where run_id = ${run.id} and key = 't0'`);
    expect(await reapExpired(sut.db)).toEqual({ requeued: 1, exhausted: [] });
    expect((await tasksOf(sut, run.id)).map((t) => [t.key, t.status, t.attempts, t.worker_id])).toEqual([['t0', 'queued', 1, null], ['t1', 'running', 1, 'w1']]);

    await claim('w2', 10);
    await sut.db.execute(sql`update tasks set lease_until = now() - interval '1 second' where run_id = ${run.id} and key = 't0'`);
    const { requeued, exhausted } = await reapExpired(sut.db);
    expect(requeued).toBe(0);
    expect(exhausted.map((t) => [t.key, t.attempts])).toEqual([['t0', 2]]);
    // The worker fails it as the reaper; it is never queued a third time.
    await commitOutcomes(sut.db, 'reaper', exhausted.map((task) => ({ type: 'failed' as const, task, error: { category: 'api', message: 'outlived its lease' }, usage: usage(0) })));
    await commitOutcomes(sut.db, 'w1', [succeeded(claimed.find((t) => t.key === 't1')!, run.datasetId)]);
    expect((await tasksOf(sut, run.id)).map((t) => [t.key, t.status])).toEqual([['t0', 'failed'], ['t1', 'succeeded']]);
    expect(await runRow(sut, run.id)).toMatchObject({ status: 'failed', done: 1, failed: 1 });
  });

  it('a cancel before the commit: the canceled run’s outcomes are dropped, its spend kept', async () => {
    const run = await planRun(sut, 'key-a', 4);
    const [t0, t1, t2, t3] = (await claimAll())(run.id);
    expect(await cancelRun(sut.db, run.id)).toBe(true);
    await commitOutcomes(sut.db, 'w1', [succeeded(t0, run.datasetId), failed(t1, 'x'), retry(t2, 1000, 'y'), { type: 'aborted', task: t3, usage: usage() }]);
    expect(await runRow(sut, run.id)).toMatchObject({ status: 'canceled', done: 0, failed: 0, records: 0, requests: 4, input_tokens: 40 });
    expect((await tasksOf(sut, run.id)).map((t) => t.status)).toEqual(['canceled', 'canceled', 'canceled', 'canceled']);
    expect(await rows(sut.db, sql`select key from records`)).toEqual([]);
    expect(await eventTypes(sut, run.id)).toEqual(['run.queued', 'run.started', 'run.canceled']);
  });

  it('a cancel racing a commit: either order leaves the run canceled, its counters matching what was stored, and the spend kept', async () => {
    for (let round = 0; round < 6; round++) {
      await q.reset();
      // Two tasks stay in flight, so the commit alone does not end the run.
      const run = await planRun(sut, 'key-a', 8);
      const tasks = (await claimAll())(run.id).slice(0, 6);
      const outcomes = tasks.map((t, i) => (i < 4 ? succeeded(t, run.datasetId) : failed(t, 'x')));
      await Promise.all([commitOutcomes(sut.db, 'w1', outcomes), cancelRun(sut.db, run.id)]);
      const row = await runRow(sut, run.id);
      const [{ n }] = await rows<{ n: number }>(sut.db, sql`select count(*)::int as n from records`);
      expect(row.status).toBe('canceled');
      expect(row.requests).toBe(6);
      expect(row.records).toBe(n);
      // The commit won (4 records, 2 failures) or the cancel did (nothing kept); never a mix.
      expect([[4, 4, 2], [0, 0, 0]]).toContainEqual([n, row.done, row.failed]);
      expect((await tasksOf(sut, run.id)).slice(0, 6).filter((t) => t.status === 'running')).toEqual([]);
    }
  });

  it('tells the hooks when a run ends, in the commit’s transaction: succeeded, failed (fatal) and canceled', async () => {
    const ended: Array<[HookedRun, string]> = [];
    const hooks: CommitHooks = {
      async runEnded(tx: Tx, run, outcome) {
        ended.push([run, outcome]);
        // What the hook writes commits with the run's end.
        await tx.execute(sql`update runs set output = output || '{"hooked": true}'::jsonb where id = ${run.id}`);
      },
    };
    const ok = await planRun(sut, 'key-a', 2, { kind: 'enrich' });
    const bad = await planRun(sut, 'key-a', 2);
    const canceled = await planRun(sut, 'key-b', 1, { parent: { runId: ok.id, stage: 3 } });
    const of = await claimAll();
    await commitOutcomes(sut.db, 'w1', [succeeded(of(ok.id)[0], ok.datasetId)], hooks);
    expect(ended).toEqual([]);
    await commitOutcomes(sut.db, 'w1', [succeeded(of(ok.id)[1], ok.datasetId), failed(of(bad.id)[0], 'no', 'fatal')], hooks);
    await cancelRun(sut.db, canceled.id, hooks);
    expect(ended).toHaveLength(3);
    expect(ended).toEqual(expect.arrayContaining([
      [{ id: ok.id, kind: 'enrich', parent_run_id: null, stage: null }, 'succeeded'],
      [{ id: bad.id, kind: 'generate', parent_run_id: null, stage: null }, 'failed'],
      [{ id: canceled.id, kind: 'generate', parent_run_id: ok.id, stage: 3 }, 'canceled'],
    ]));
    const hooked = await rows<{ id: string }>(sut.db, sql`select id from runs where output->>'hooked' = 'true' order by id`);
    expect(hooked.map((r) => r.id)).toEqual([ok.id, bad.id, canceled.id].sort());
  });

  it('a stage that fails its pipeline in the same batch as the pipeline’s own outcome: nothing of the pipeline lands after its run.failed', async () => {
    // The batch commits runs in id order: the stage must come first for the pipeline's row, read at
    // the start of the commit, to be stale when the pipeline's outcome is committed.
    const pipeline = await planRun(sut, 'key-a', 2, { kind: 'pipeline' });
    let stage = await planRun(sut, 'key-a', 1, { parent: { runId: pipeline.id, stage: 0 } });
    while (stage.id > pipeline.id) stage = await planRun(sut, 'key-a', 1, { parent: { runId: pipeline.id, stage: 0 } });
    const of = await claimAll();
    const advance: Outcome = { type: 'succeeded', task: of(pipeline.id)[0], datasetId: pipeline.datasetId, usage: usage(), records: [], events: [{ type: 'stage.started', data: { stage: 0 } }] };
    await commitOutcomes(sut.db, 'w1', [advance, failed(of(stage.id)[0], 'provider "dead" is down', 'fatal')], pipelineHooks);
    const types = await eventTypes(sut, pipeline.id);
    expect(types.at(-1)).toBe('run.failed');
    expect(types).not.toContain('stage.started');
    expect((await runRow(sut, pipeline.id)).status).toBe('failed');
  });
});
