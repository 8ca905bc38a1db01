import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { sql } from 'drizzle-orm';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rows } from '../db/client.js';
import { batchingOf, finishedRun, generateSpec, recordsByKey, until } from './support/batch-runs.js';
import { TEST_DATABASE_URL } from './support/databases.js';
import { startHarness, type Harness } from './support/harness.js';
import { startWorkerProcess } from './support/worker-process.js';

/** A standalone worker process (`npm run worker`) in batch mode's test settings, on the suite's Postgres and fake teacher. */
const startWorker = (h: Harness) => startWorkerProcess(h, { WORKER_CONCURRENCY: '4', BATCH_WINDOW_MS: '1000', BATCH_POLL_MS: '100' });

describe.skipIf(!TEST_DATABASE_URL)('batch mode with a worker process killed (SIGKILL) between submit and poll, on Postgres', () => {
  let h: Harness;
  const children: ChildProcess[] = [];
  beforeAll(async () => {
    h = await startHarness({ db: 'postgres', fake: { latencyMs: 2, batch: { delayMs: 3000 } }, env: { WORKER_CONCURRENCY: '0' } });
  });
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await h?.close();
  });

  it('the next worker polls the batch the dead one submitted, never submits it again, and the run completes', async () => {
    const victim = startWorker(h);
    children.push(victim);
    const run = (await request(h.url).post('/v1/generate').send(generateSpec('anthropic', 'batch')).expect(202)).body.run;
    await until<{ state: string }>(h, sql`select state from batches b where exists (select 1 from batch_items i where i.batch_id = b.id and i.run_id = ${run.id})`, (b) => b.state === 'submitted');
    victim.kill('SIGKILL');
    await once(victim, 'exit');

    children.push(startWorker(h));
    const ended = await finishedRun(h, run.id);
    expect(ended.status).toBe('succeeded');
    expect(Object.keys(await recordsByKey(h, ended.output.dataset_id))).toHaveLength(8);
    // Every provider batch is one of the run's batch rows, and no call went into two.
    const { batches, resubmitted } = await batchingOf(h, run.id);
    expect(h.fake.stats().batch.created.anthropic).toBe(batches);
    expect(batches).toBe(1);
    expect(resubmitted).toBe(0);
    // Waiting tasks were deferred, not running, when their worker died: no attempt was spent.
    const tasks = await rows<{ attempts: number }>(h.quarry.database.db, sql`select attempts from tasks where run_id = ${run.id}`);
    expect(tasks.map((t) => t.attempts)).toEqual([1, 1, 1, 1]);
  }, 60_000);
});
