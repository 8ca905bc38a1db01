import { sql } from 'drizzle-orm';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rows } from '../db/client.js';
import { finishedRun, generateSpec, recordsByKey } from './support/batch-runs.js';
import { DATABASES } from './support/databases.js';
import { startHarness, type Harness } from './support/harness.js';

// What becomes of a batch line that is not answered: the fake's fault knobs apply per line, so one
// chunk's call (its prompt holds `fact1_5`, section 2's text) can be made to expire or fail.
describe.each(DATABASES)('batch lines that expire or fail (%s)', (db) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ db, fake: { latencyMs: 2, batch: { delayMs: 50 } }, env: { BATCH_WINDOW_MS: '1000', BATCH_POLL_MS: '100' } });
  });
  afterAll(() => h?.close());

  const taskAttempts = async (runId: string) =>
    (await rows<{ attempts: number }>(h.quarry.database.db, sql`select attempts from tasks where run_id = ${runId} order by key`)).map((t) => t.attempts);
  const batchStates = async (runId: string) =>
    (await rows<{ state: string }>(h.quarry.database.db, sql`select state from batches b where exists (select 1 from batch_items i where i.batch_id = b.id and i.run_id = ${runId}) order by created_at`)).map((b) => b.state);

  it('a line its batch left unanswered (the batch expired) goes into one more batch, and the run completes without spending an attempt', async () => {
    h.fake.configure({ faults: [{ kind: 'hang', match: 'fact1_5 ', times: 1 }] });
    const run = (await request(h.url).post('/v1/generate').send(generateSpec('openai', 'batch')).expect(202)).body.run;
    const ended = await finishedRun(h, run.id);
    expect(ended.status).toBe('succeeded');
    expect(Object.keys(await recordsByKey(h, ended.output.dataset_id))).toHaveLength(8);
    // The expired batch is recorded as failed; its unanswered line went into a second batch.
    expect(await batchStates(run.id)).toEqual(['failed', 'ended']);
    expect(await taskAttempts(run.id)).toEqual([1, 1, 1, 1]);
    expect(ended.output.batch).toMatchObject({ pending: 0, submitted: 0, done: 4, failed: 0 });
  }, 60_000);

  it('a line that fails (a 500 for that request) fails its attempt with its category, and the retry batches the call again', async () => {
    h.fake.configure({ faults: [{ kind: '500', match: 'fact1_5 ', times: 1 }] });
    const run = (await request(h.url).post('/v1/generate').send({ ...generateSpec('openai', 'batch'), n_pairs: 1 }).expect(202)).body.run;
    const ended = await finishedRun(h, run.id);
    expect(ended.status).toBe('succeeded');
    expect(Object.keys(await recordsByKey(h, ended.output.dataset_id))).toHaveLength(4);
    // One task retried once (a charged attempt, as online); its retry went into a batch of its own.
    expect((await taskAttempts(run.id)).sort()).toEqual([1, 1, 1, 2]);
    const retried = await rows<{ data: { error: { category: string } } }>(h.quarry.database.db, sql`select data from run_events where run_id = ${run.id} and type = 'task.retrying'`);
    expect(retried.map((e) => e.data.error.category)).toEqual(['api']);
    expect(await batchStates(run.id)).toEqual(['ended', 'ended']);
  }, 60_000);
});
