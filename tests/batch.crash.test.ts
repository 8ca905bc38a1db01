import { sql } from 'drizzle-orm';
import { pino } from 'pino';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openBatch } from '../db/batches.repository.js';
import { rows } from '../db/client.js';
import { createBatchApi } from '../src/llm/batch-api.js';
import { createQuarry, type Quarry } from '../src/quarry.js';
import { batchingOf, finishedRun, generateSpec, recordsByKey, until } from './support/batch-runs.js';
import { DATABASES } from './support/databases.js';
import { startHarness, type Harness } from './support/harness.js';

// Crash safety and cancel of batch mode. The API process runs no worker; worker processes are
// Quarry instances on the same database, started and stopped by the test, so a test decides which
// worker submits a batch and which one finds it.
describe.each(DATABASES)('batch mode across worker deaths and cancels (%s)', (db) => {
  let h: Harness;
  const workers: Quarry[] = [];
  beforeAll(async () => {
    h = await startHarness({ db, fake: { latencyMs: 2 }, env: { WORKER_CONCURRENCY: '0' } });
  });
  afterEach(async () => {
    for (const w of workers.splice(0)) await w.stop(0);
  });
  afterAll(() => h?.close());

  /** A worker process: the worker and its batch submitter/poller, no HTTP. */
  async function startWorker(batch: Partial<Harness['config']['batch']> = {}): Promise<Quarry> {
    const config = { ...h.config, workerConcurrency: 4, batch: { windowMs: 600, pollMs: 100, submitLeaseMs: 60_000, ...batch } };
    const w = await createQuarry(config, { database: h.quarry.database, http: false, worker: true, log: pino({ level: 'silent' }) });
    await w.start();
    workers.push(w);
    return w;
  }

  const batchesOf = (runId: string) => sql`select b.id, b.state, b.provider_batch_id, b.model from batches b
    where exists (select 1 from batch_items i where i.batch_id = b.id and i.run_id = ${runId})`;
  const itemsOf = (runId: string) => sql`select count(*)::int as n, count(*) filter (where state = 'pending')::int as pending from batch_items where run_id = ${runId}`;

  it('a worker stopped between submitting a batch and reading it leaves it to another, which polls it instead of submitting again', async () => {
    h.fake.configure({ batch: { delayMs: 1500 } });
    const created = h.fake.stats().batch.created.openai;
    const a = await startWorker();
    const run = (await request(h.url).post('/v1/generate').send(generateSpec('openai', 'batch')).expect(202)).body.run;
    await until<{ state: string }>(h, batchesOf(run.id), (b) => b.state === 'submitted');
    await a.stop(0);
    workers.splice(workers.indexOf(a), 1);

    await startWorker();
    const ended = await finishedRun(h, run.id);
    expect(ended.status).toBe('succeeded');
    expect(Object.keys(await recordsByKey(h, ended.output.dataset_id))).toHaveLength(8);
    const { batches, resubmitted } = await batchingOf(h, run.id);
    expect(h.fake.stats().batch.created.openai - created).toBe(batches);
    expect(batches).toBe(1);
    expect(resubmitted).toBe(0);
    const tasks = await rows<{ attempts: number }>(h.quarry.database.db, sql`select attempts from tasks where run_id = ${run.id}`);
    expect(tasks.map((t) => t.attempts)).toEqual([1, 1, 1, 1]);
  }, 60_000);

  it('a batch left `submitting` by a worker that died after the provider took it is found by its local id, not submitted twice', async () => {
    h.fake.configure({ batch: { delayMs: 50 } });
    // A worker that records the calls but never submits them (its window never closes).
    const a = await startWorker({ windowMs: 3_600_000 });
    const run = (await request(h.url).post('/v1/generate').send(generateSpec('anthropic', 'batch')).expect(202)).body.run;
    await until<{ n: number; pending: number }>(h, itemsOf(run.id), (r) => r.pending === 4);
    await a.stop(0);
    workers.splice(workers.indexOf(a), 1);

    // What a submitter that died right after the provider's answer leaves: the row, no provider id.
    const [{ model }] = await rows<{ model: string }>(h.quarry.database.db, sql`select model from batch_items where run_id = ${run.id} limit 1`);
    const opened = await openBatch(h.quarry.database.db, { id: 'qb_crashed0000000000000001', provider: 'anthropic', model, maxLines: 100, leaseMs: 0, fit: (l) => l.length });
    expect(opened?.lines).toHaveLength(4);
    const created = h.fake.stats().batch.created.anthropic;
    const { providerBatchId } = await createBatchApi().submit(h.quarry.providers.get('anthropic')!, opened!.lines, opened!.id);

    await startWorker();
    const ended = await finishedRun(h, run.id);
    expect(ended.status).toBe('succeeded');
    expect(h.fake.stats().batch.created.anthropic - created).toBe(1);
    const [batch] = await rows<{ state: string; provider_batch_id: string }>(h.quarry.database.db, batchesOf(run.id));
    expect(batch).toMatchObject({ state: 'ended', provider_batch_id: providerBatchId });
    expect(Object.keys(await recordsByKey(h, ended.output.dataset_id))).toHaveLength(8);
  }, 60_000);

  it('canceling a run drops its calls that wait for a batch: none is submitted', async () => {
    const created = h.fake.stats().batch.created.openai;
    await startWorker({ windowMs: 1500 });
    const run = (await request(h.url).post('/v1/generate').send(generateSpec('openai', 'batch', 3)).expect(202)).body.run;
    await until<{ n: number; pending: number }>(h, itemsOf(run.id), (r) => r.pending === 3);
    await request(h.url).post(`/v1/runs/${run.id}/cancel`).expect(200);
    await until<{ n: number }>(h, itemsOf(run.id), (r) => r.n === 0);
    // Past the window the pending calls would have been submitted.
    await new Promise((r) => setTimeout(r, 1600));
    expect(h.fake.stats().batch.created.openai).toBe(created);
    expect((await finishedRun(h, run.id)).status).toBe('canceled');
  }, 60_000);

  it('canceling a run cancels its submitted batch at the provider', async () => {
    h.fake.configure({ batch: { delayMs: 60_000 } });
    const canceled = h.fake.stats().batch.canceled;
    await startWorker();
    const run = (await request(h.url).post('/v1/generate').send(generateSpec('openai', 'batch', 3)).expect(202)).body.run;
    const submitted = await until<{ id: string; state: string }>(h, batchesOf(run.id), (b) => b.state === 'submitted');
    // While it waits, the run shows its calls in the batch and when the batch should end (the 24-hour window).
    const shown = await until<{ batch: any }>(h, sql`select output->'batch' as batch from runs where id = ${run.id}`, (r) => r.batch?.submitted === 3);
    expect(shown.batch).toMatchObject({ pending: 0, done: 0, failed: 0, batches: 1, expected_completion: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/) });
    expect(Date.parse(shown.batch.expected_completion) - Date.now()).toBeGreaterThan(23 * 3600_000);
    await request(h.url).post(`/v1/runs/${run.id}/cancel`).expect(200);

    await until<{ state: string }>(h, sql`select state from batches where id = ${submitted.id}`, (b) => b.state === 'canceled');
    // The provider's batch ends `cancelled` a moment after the cancel (as at the real APIs).
    while (h.fake.stats().batch.canceled === canceled) await new Promise((r) => setTimeout(r, 20));
    expect(h.fake.stats().batch.canceled - canceled).toBe(1);
    expect((await finishedRun(h, run.id)).status).toBe('canceled');
    await until<{ n: number }>(h, itemsOf(run.id), (r) => r.n === 0);

    // A retry of the canceled run batches its calls afresh and completes.
    h.fake.configure({ batch: { delayMs: 50 } });
    await request(h.url).post(`/v1/runs/${run.id}/retry`).expect(200);
    const retried = await finishedRun(h, run.id);
    expect(retried.status).toBe('succeeded');
    expect(Object.keys(await recordsByKey(h, retried.output.dataset_id))).toHaveLength(6);
  }, 60_000);
});
