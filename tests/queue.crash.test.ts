import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { sql } from 'drizzle-orm';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rows } from '../db/client.js';
import { TEST_DATABASE_URL } from './support/databases.js';
import { markdownDoc, startHarness, type Harness } from './support/harness.js';
import { readSse } from './support/streams.js';
import { startWorkerProcess } from './support/worker-process.js';

/** A standalone worker process (`npm run worker`), sharing the suite's Postgres and fake teacher. */
const startWorker = (h: Harness, name: string) => startWorkerProcess(h, { WORKER_CONCURRENCY: '6', SHUTDOWN_GRACE_MS: '300' }, name);

describe.skipIf(!TEST_DATABASE_URL)('two standalone workers on Postgres, one killed with SIGKILL mid-run', () => {
  let h: Harness;
  const workers: ChildProcess[] = [];
  beforeAll(async () => {
    // The API process runs no worker: every record comes from the worker processes.
    h = await startHarness({ db: 'postgres', fake: { latencyMs: 40 }, env: { WORKER_CONCURRENCY: '0' } });
    workers.push(startWorker(h, 'worker-a'), startWorker(h, 'worker-b'));
  });
  afterAll(async () => {
    for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
    await h?.close();
  });

  it('completes the run with exactly the expected records, no duplicates, streamed through the API process', async () => {
    const sections = 80;
    const run = (await request(h.url).post('/v1/generate').send({ documents: [markdownDoc('crash.md', sections)], n_pairs: 2 }).expect(202)).body.run;
    const stream = readSse(`${h.url}${run.links.events}`);

    // Kill worker A once both workers hold leases, i.e. with tasks of its own in flight.
    const db = h.quarry.database.db;
    for (;;) {
      const holders = await rows<{ worker_id: string }>(db, sql`select distinct worker_id from tasks where status = 'running' and worker_id is not null`);
      const done = await rows<{ n: number }>(db, sql`select count(*)::int as n from tasks where status = 'succeeded'`);
      if (holders.length >= 2 && done[0].n >= 10) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const [victim] = workers;
    victim.kill('SIGKILL');
    await once(victim, 'exit');

    const sse = await stream;
    expect(sse.events.at(-1)!.type).toBe('run.succeeded');
    const final = (await request(h.url).get(`/v1/runs/${run.id}`).expect(200)).body.run;
    expect(final).toMatchObject({ status: 'succeeded', progress: { total: sections, done: sections, failed: 0, records: sections * 2 } });

    const stored = await rows<{ n: number; keys: number }>(db, sql`select count(*)::int as n, count(distinct key)::int as keys from records where dataset_id = ${run.output.dataset_id}`);
    expect(stored[0]).toEqual({ n: sections * 2, keys: sections * 2 });
    const dataset = (await request(h.url).get(`/v1/datasets/${run.output.dataset_id}`).expect(200)).body.dataset;
    expect(dataset.record_count).toBe(sections * 2);
    // Every record reached the SSE client of the API process exactly once.
    const created = sse.events.filter((e) => e.type === 'record.created').map((e) => e.data.key);
    expect(created).toHaveLength(sections * 2);
    expect(new Set(created).size).toBe(sections * 2);
    // The survivor picked up the dead worker's leased tasks after their lease expired.
    const attempts = await rows<{ n: number }>(db, sql`select count(*)::int as n from tasks where run_id = ${run.id} and attempts > 1`);
    expect(attempts[0].n).toBeGreaterThan(0);
  }, 60_000);

  it('a worker stopped with SIGTERM releases its claimed tasks without charging an attempt', async () => {
    h.fake.configure({ latencyMs: 3000 });
    const survivor = workers[1];
    const run = (await request(h.url).post('/v1/generate').send({ documents: [markdownDoc('term.md', 4)], n_pairs: 1, max_attempts: 1 }).expect(202)).body.run;
    const db = h.quarry.database.db;
    for (;;) {
      const running = await rows<{ n: number }>(db, sql`select count(*)::int as n from tasks where run_id = ${run.id} and status = 'running'`);
      if (running[0].n === 4) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    survivor.kill('SIGTERM');
    await once(survivor, 'exit');
    const tasks = await rows<{ status: string; attempts: number }>(db, sql`select status, attempts from tasks where run_id = ${run.id}`);
    // Stopping waits 300 ms (SHUTDOWN_GRACE_MS) for in-flight calls; these outlast it, so they are released.
    expect(tasks).toEqual(Array.from({ length: 4 }, () => ({ status: 'queued', attempts: 0 })));
    h.fake.configure({ latencyMs: 5 });
    const fresh = startWorker(h, 'worker-c');
    workers.push(fresh);
    const sse = await readSse(`${h.url}${run.links.events}`);
    expect(sse.events.at(-1)!.type).toBe('run.succeeded');
  }, 60_000);
});
