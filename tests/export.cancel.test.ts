import { sql } from 'drizzle-orm';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rows } from '../db/client.js';
import { evictExportFiles } from '../db/eviction.js';
import { DATABASES } from './support/databases.js';
import { startHarness, type Harness } from './support/harness.js';

const A = { authorization: 'Bearer key-a' };
/**
 * Big enough that the export is still writing when the test cancels it: 1 KiB shards make it
 * write over a thousand files, one statement each, after a first pass over 20,000 records.
 */
const RECORDS = 20_000;
const records = Array.from({ length: RECORDS }, (_, i) => ({ question: `Question ${i}: what does a lease protect?`, answer: `Answer ${i}: a task from two workers.`, source: `doc-${i % 500}.md` }));

describe.each(DATABASES)('canceling an export run (%s)', (db) => {
  let h: Harness;
  let dataset: string;
  beforeAll(async () => {
    h = await startHarness({ db, env: { API_KEYS: 'key-a' } });
    dataset = (await request(h.url).post('/v1/datasets').set(A).send({ name: 'big', records }).expect(201)).body.dataset.id;
  }, 120_000);
  afterAll(() => h?.close());

  const filesInTable = async (id: string) => (await rows<{ n: number }>(h.quarry.database.db, sql`select count(*)::int as n from export_files where run_id = ${id}`))[0].n;
  const tasksRunning = async (id: string) => (await rows<{ n: number }>(h.quarry.database.db, sql`select count(*)::int as n from tasks where run_id = ${id} and status = 'running'`))[0].n;

  it('ends canceled mid-way, serves none of the files it wrote, and the next eviction pass deletes them', async () => {
    const started = (await request(h.url).post('/v1/export').set(A).send({ dataset_ids: [dataset], format: 'parquet', split: { train: 0.8, test: 0.2 }, max_shard_bytes: 1024 }).expect(202)).body.run;
    // Mid-way: some shards are written (as pending files), listed while it runs, but not downloadable.
    await expect.poll(async () => (await request(h.url).get(`/v1/exports/${started.id}`).set(A)).body.files?.length ?? 0, { timeout: 60_000, interval: 20 }).toBeGreaterThan(0);
    const writing = (await request(h.url).get(`/v1/exports/${started.id}`).set(A).expect(200)).body;
    expect(writing.run.status).toBe('running');
    expect(writing.files.every((f: { path: string }) => f.path.endsWith('.pending'))).toBe(true);
    await request(h.url).get(`/v1/exports/${started.id}/archive`).set(A).expect(409);
    // The dataset it reads cannot be deleted under it.
    const inUse = await request(h.url).delete(`/v1/datasets/${dataset}`).set(A).expect(409);
    expect(inUse.body.error.message).toContain(`export ${started.id} is still running and reads it`);

    const canceled = await request(h.url).post(`/v1/runs/${started.id}/cancel`).set(A).expect(200);
    expect(canceled.body.run.status).toBe('canceled');
    // The worker stops writing at its next page of records.
    await expect.poll(() => tasksRunning(started.id), { timeout: 30_000 }).toBe(0);
    const run = (await request(h.url).get(`/v1/runs/${started.id}`).set(A).expect(200)).body.run;
    expect(run.status).toBe('canceled');
    expect(run.output).not.toHaveProperty('files');

    // Whatever it left in the table, none of it is served.
    expect(await filesInTable(started.id)).toBeGreaterThan(0);
    expect((await request(h.url).get(`/v1/exports/${started.id}`).set(A).expect(200)).body).toMatchObject({ run: { status: 'canceled' }, files: [] });
    for (const path of [`/v1/exports/${started.id}/archive`, `/v1/exports/${started.id}/files/README.md`]) {
      const res = await request(h.url).get(path).set(A).expect(409);
      expect(res.body.error).toMatchObject({ code: 'conflict', message: `export ${started.id} is canceled: it wrote no complete set of files` });
    }
    expect(await evictExportFiles(h.quarry.database.db, { ttlDays: 0, maxBytes: 1e12 })).toMatchObject({ discarded: 1 });
    expect(await filesInTable(started.id)).toBe(0);
    expect((await request(h.url).get(`/v1/exports/${started.id}`).set(A).expect(200)).body.files).toEqual([]);
    await request(h.url).delete(`/v1/datasets/${dataset}`).set(A).expect(204);
  }, 120_000);
});
