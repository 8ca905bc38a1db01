import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rows, type Database } from '../db/client.js';
import { commitOutcomes } from '../db/outcomes.repository.js';
import { claimTasks, type ClaimedTask, type Outcome } from '../db/queue.repository.js';
import { startFakeLlm, type FakeLlm } from '../src/fake-llm/server.js';
import { DATABASES } from './support/databases.js';
import { markdownDoc, startHarness, type Harness } from './support/harness.js';
import { eventTypes, openQueueDatabase, planRun, runRow, succeeded, tasksOf } from './support/queue-db.js';

// max_cost_usd: a run that crosses its budget takes no new work, keeps what its tasks in flight
// finish, ends failed with reason budget_exceeded, and a retry with a higher budget completes it
// with the rest — every record once, no task paid twice.

const WORKERS = 2;

describe.each(DATABASES)('max_cost_usd stops a run at its budget; a retry with a higher one completes it (%s)', (db) => {
  let h: Harness;
  let fake: FakeLlm;
  /** What one task of these documents costs, measured on a run without a budget. */
  let perTask: number;
  beforeAll(async () => {
    fake = await startFakeLlm({ latencyMs: 60 });
    const file = join(mkdtempSync(join(tmpdir(), 'quarry-budget-')), 'providers.yaml');
    // Dear enough that a task costs cents: budgets below are a few tasks' worth.
    writeFileSync(file, ['providers:', `  dear: { kind: openai, base_url: "${fake.openaiBaseUrl}", model: m, pricing: { input_per_mtok: 100, output_per_mtok: 100 } }`].join('\n'));
    h = await startHarness({ db, fakeLlm: fake, env: { PROVIDERS_FILE: file, WORKER_CONCURRENCY: String(WORKERS) } });
    const reference = await finished(await start('/v1/generate', { documents: [markdownDoc('reference.md', 4, 40)], n_pairs: 1, llm }));
    expect(reference.status).toBe('succeeded');
    perTask = reference.usage.cost_usd / reference.progress.total;
    expect(perTask).toBeGreaterThan(0.001);
  });
  afterAll(async () => {
    await h?.close();
    await fake?.close();
  });

  const llm = { provider: 'dear' };
  const start = async (path: string, body: Record<string, unknown>) => (await request(h.url).post(path).send(body).expect(202)).body.run;
  const finished = async (run: { id: string }) => (await request(h.url).get(`/v1/runs/${run.id}`).set('Prefer', 'wait=60').expect(200)).body.run;
  const eventsOf = (runId: string) => rows<{ type: string; data: Record<string, any> }>(h.quarry.database.db, sql`select type, data from run_events where run_id = ${runId} order by id`);
  const taskCounts = async (runId: string) =>
    Object.fromEntries((await rows<{ status: string; n: number }>(h.quarry.database.db, sql`select status, count(*)::int as n from tasks where run_id = ${runId} group by status`)).map((r) => [r.status, r.n]));
  /**
   * After the crossing only what was in flight was paid for: tasks claimed and not yet committed
   * (`in_flight`, still `running` then: started, buffered, or finished and waiting for the batched
   * commit), a few cents each, with a margin for uneven tasks.
   */
  const paidOnlyInFlight = (stopped: { usage: { cost_usd: number } }, crossed: Record<string, number>) => {
    expect(stopped.usage.cost_usd - crossed.spent_usd).toBeLessThanOrEqual(crossed.in_flight * perTask * 1.5 + 1e-9);
  };
  const recordCount = async (datasetId: string) => (await rows<{ n: number }>(h.quarry.database.db, sql`select count(*)::int as n from records where dataset_id = ${datasetId}`))[0].n;

  it('stops at the spend: in-flight tasks kept, nothing lost; the retry needs a higher budget and then finishes the rest', async () => {
    const budget = 3.5 * perTask;
    const run = await start('/v1/generate', { documents: [markdownDoc('budget.md', 30, 40)], n_pairs: 1, llm, max_cost_usd: budget });
    expect(run.max_cost_usd).toBe(budget);
    const stopped = await finished(run);
    expect(stopped.status).toBe('failed');
    expect(stopped.error).toMatchObject({ category: 'budget_exceeded', budget_usd: budget });
    expect(stopped.error.message).toMatch(/max_cost_usd/);
    const total = stopped.progress.total;
    expect(total).toBeGreaterThan(20);
    expect(stopped.progress.done).toBeLessThan(total);
    const events = await eventsOf(run.id);
    const crossed = events.filter((e) => e.type === 'run.budget_exceeded');
    expect(crossed).toHaveLength(1);
    expect(crossed[0].data).toMatchObject({ budget_usd: budget, scope: 'run', by: 'spent' });
    expect(crossed[0].data.spent_usd).toBeGreaterThanOrEqual(budget);
    expect(stopped.usage.cost_usd).toBeGreaterThanOrEqual(budget);
    paidOnlyInFlight(stopped, crossed[0].data);
    expect(events.at(-1)).toMatchObject({ type: 'run.failed', data: { error: { category: 'budget_exceeded' } } });
    // Every succeeded task's records are there; nothing is left running or queued.
    const tasks = await taskCounts(run.id);
    expect(tasks).toEqual({ succeeded: stopped.progress.done, canceled: total - stopped.progress.done });
    expect(await recordCount(stopped.output.dataset_id)).toBe(stopped.progress.records);
    expect(stopped.progress.records).toBe(stopped.progress.done);

    // Resuming needs a higher budget: none, or one not above the spend, is refused with the field named.
    const none = await request(h.url).post(`/v1/runs/${run.id}/retry`).expect(400);
    expect(none.body.error.details).toEqual([expect.objectContaining({ field: 'max_cost_usd' })]);
    await request(h.url).post(`/v1/runs/${run.id}/retry`).send({ max_cost_usd: stopped.usage.cost_usd / 2 }).expect(400);
    const retried = (await request(h.url).post(`/v1/runs/${run.id}/retry`).send({ max_cost_usd: 1000 }).expect(200)).body.run;
    expect(retried).toMatchObject({ status: 'running', max_cost_usd: 1000 });
    const done = await finished(run);
    expect(done.status).toBe('succeeded');
    expect(done.progress).toMatchObject({ total, done: total, failed: 0, records: total });
    expect(await recordCount(done.output.dataset_id)).toBe(total);
    // Each task was paid for once: the whole run costs what its tasks cost, not more.
    expect(done.usage.requests).toBe(total);
    expect(done.usage.cost_usd).toBeLessThan(total * perTask * 1.5);
  });

  it('stops on the projection once a few tasks finished, before the spend reaches the budget', async () => {
    // Well under what the whole run costs: the projection crosses it once 5 tasks finished; the spend,
    // even with what was in flight or waiting for its commit then (a dozen tasks at most here), does not.
    const budget = 30 * perTask;
    const run = await start('/v1/generate', { documents: [markdownDoc('projected.md', 70, 40)], n_pairs: 1, llm, max_cost_usd: budget });
    const stopped = await finished(run);
    expect(stopped.status).toBe('failed');
    expect(stopped.error).toMatchObject({ category: 'budget_exceeded', by: 'projected', budget_usd: budget });
    expect(stopped.error.projected_usd).toBeGreaterThan(budget);
    expect(stopped.usage.cost_usd).toBeLessThan(budget);
    expect(stopped.progress.done).toBeGreaterThanOrEqual(5);
    expect(await recordCount(stopped.output.dataset_id)).toBe(stopped.progress.records);
    const done = await finished((await request(h.url).post(`/v1/runs/${run.id}/retry`).send({ max_cost_usd: 1000 }).expect(200)).body.run);
    expect(done).toMatchObject({ status: 'succeeded', progress: { done: stopped.progress.total, records: stopped.progress.total } });
  });

  it('a run within its budget is not stopped', async () => {
    const run = await start('/v1/generate', { documents: [markdownDoc('within.md', 4, 40)], n_pairs: 1, llm, max_cost_usd: 1000 });
    expect((await finished(run)).status).toBe('succeeded');
  });

  it('a pipeline’s budget covers its stages: it stops with budget_exceeded and resumes with a higher one', async () => {
    const budget = 3.5 * perTask;
    const run = await start('/v1/pipelines', { generate: { documents: [markdownDoc('pipeline.md', 16, 40)], n_pairs: 1, llm }, max_cost_usd: budget });
    const stopped = await finished(run);
    expect(stopped.status).toBe('failed');
    expect(stopped.error).toMatchObject({ category: 'budget_exceeded', cause: { category: 'budget_exceeded', scope: 'pipeline', budget_usd: budget } });
    const [stage] = await rows<{ id: string }>(h.quarry.database.db, sql`select id from runs where parent_run_id = ${run.id}`);
    const crossed = (await eventsOf(stage.id)).filter((e) => e.type === 'run.budget_exceeded');
    expect(crossed).toHaveLength(1);
    paidOnlyInFlight(stopped, crossed[0].data);
    await request(h.url).post(`/v1/runs/${run.id}/retry`).expect(400);
    const done = await finished((await request(h.url).post(`/v1/runs/${run.id}/retry`).send({ max_cost_usd: 1000 }).expect(200)).body.run);
    expect(done.status).toBe('succeeded');
    expect(done.max_cost_usd).toBe(1000);
  });

  it('a stage’s own max_cost_usd bounds its stage run; the pipeline fails with budget_exceeded and resumes with a higher one', async () => {
    const budget = 3.5 * perTask;
    const run = await start('/v1/pipelines', { generate: { documents: [markdownDoc('stage.md', 16, 40)], n_pairs: 1, llm, max_cost_usd: budget } });
    const stopped = await finished(run);
    expect(stopped.status).toBe('failed');
    expect(stopped.error).toMatchObject({ category: 'budget_exceeded', cause: { category: 'budget_exceeded', scope: 'run', budget_usd: budget } });
    const [stage] = await rows<{ id: string; max_cost_usd: number }>(h.quarry.database.db, sql`select id, max_cost_usd from runs where parent_run_id = ${run.id}`);
    expect(stage.max_cost_usd).toBe(budget);
    const done = await finished((await request(h.url).post(`/v1/runs/${run.id}/retry`).send({ max_cost_usd: 1000 }).expect(200)).body.run);
    expect(done.status).toBe('succeeded');
    // The stage's own budget was raised with the pipeline's.
    expect((await rows<{ max_cost_usd: number }>(h.quarry.database.db, sql`select max_cost_usd from runs where id = ${stage.id}`))[0].max_cost_usd).toBe(1000);
  });

  it('refuses a budget that is not a positive number, naming the field', async () => {
    const res = await request(h.url).post('/v1/generate').send({ documents: [markdownDoc('bad.md', 2)], llm, max_cost_usd: 0 }).expect(400);
    expect(JSON.stringify(res.body)).toMatch(/max_cost_usd/);
  });
});

/**
 * Medium level (no worker, no HTTP): the budget is checked on every commit, also one that finds
 * nothing of its run queued. A worker claims ahead (prefetch) and claims again as each task ends,
 * so under load the commit that crosses the budget can find every remaining task claimed, some of
 * them still unstarted in the worker's buffer: the mark must still be set, or they all run.
 */
describe.each(DATABASES)('max_cost_usd is checked when every task is already claimed (%s)', (db) => {
  let sut: Database;
  let q: Awaited<ReturnType<typeof openQueueDatabase>>;
  beforeAll(async () => {
    q = await openQueueDatabase(db);
    sut = q.sut;
  });
  afterAll(() => q?.close());

  /** A run of `tasks` tasks (a thousandth of a dollar each, see support/queue-db.ts) with this budget, all of them claimed by w1. */
  async function claimedRun(tasks: number, budget: number) {
    await q.reset();
    const run = await planRun(sut, 'key-a', tasks);
    await sut.db.execute(sql`update runs set max_cost_usd = ${budget} where id = ${run.id}`);
    const claimed = (await claimTasks(sut.db, 'w1', 100, 30)).sort((a, b) => a.id - b.id);
    expect(claimed).toHaveLength(tasks);
    return { ...run, claimed };
  }
  const handedBack = (task: ClaimedTask): Outcome => ({ type: 'aborted', task, usage: { requests: 0, input_tokens: 0, output_tokens: 0, cost_usd: 0, cache_hits: 0 } });
  const mark = async (runId: string) => (await rows<{ budget_exceeded: Record<string, unknown> | null }>(sut.db, sql`select budget_exceeded from runs where id = ${runId}`))[0].budget_exceeded;

  it('a commit that crosses with nothing queued marks the run; the buffered tasks handed back are withdrawn and it fails', async () => {
    const run = await claimedRun(6, 0.0015);
    const [t0, t1, t2, t3, t4, t5] = run.claimed;
    // Two finished and cross the budget; t2 and t3 run; t4 and t5 wait in the worker's buffer.
    await commitOutcomes(sut.db, 'w1', [succeeded(t0, run.datasetId), succeeded(t1, run.datasetId)]);
    expect(await mark(run.id)).toMatchObject({ by: 'spent', budget_usd: 0.0015, scope: 'run' });
    const [crossed] = await rows<{ data: Record<string, unknown> }>(sut.db, sql`select data from run_events where run_id = ${run.id} and type = 'run.budget_exceeded'`);
    expect(crossed.data).toMatchObject({ in_flight: 4 });
    // The worker hears of it and hands back what it has not started; what runs finishes.
    await commitOutcomes(sut.db, 'w1', [handedBack(t4), handedBack(t5)]);
    expect(await claimTasks(sut.db, 'w2', 100, 30)).toEqual([]);
    await commitOutcomes(sut.db, 'w1', [succeeded(t2, run.datasetId), succeeded(t3, run.datasetId)]);
    expect(await runRow(sut, run.id)).toMatchObject({ status: 'failed', done: 4, total: 6, error: { category: 'budget_exceeded', by: 'spent' } });
    expect((await tasksOf(sut, run.id)).map((t) => t.status)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded', 'canceled', 'canceled']);
    expect((await eventTypes(sut, run.id)).at(-1)).toBe('run.failed');
  });

  it('a run whose every task had started when it crossed has nothing to withdraw: it succeeds', async () => {
    const run = await claimedRun(3, 0.0015);
    const [t0, t1, t2] = run.claimed;
    await commitOutcomes(sut.db, 'w1', [succeeded(t0, run.datasetId), succeeded(t1, run.datasetId)]);
    expect(await mark(run.id)).not.toBeNull();
    await commitOutcomes(sut.db, 'w1', [succeeded(t2, run.datasetId)]);
    expect(await runRow(sut, run.id)).toMatchObject({ status: 'succeeded', done: 3, total: 3 });
  });

  it('the commit that finishes the run does not mark it', async () => {
    const run = await claimedRun(2, 0.0015);
    await commitOutcomes(sut.db, 'w1', run.claimed.map((t) => succeeded(t, run.datasetId)));
    expect(await mark(run.id)).toBeNull();
    expect((await eventTypes(sut, run.id)).filter((t) => t.startsWith('run.'))).toEqual(['run.queued', 'run.succeeded']);
  });
});
