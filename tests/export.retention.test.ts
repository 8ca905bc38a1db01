import { sql } from 'drizzle-orm';
import { pino } from 'pino';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rows } from '../db/client.js';
import { evictExportFiles } from '../db/eviction.js';
import { startEviction } from '../db/maintenance.js';
import { loadConfig } from '../src/config.js';
import { DATABASES } from './support/databases.js';
import { startHarness, type Harness } from './support/harness.js';

const A = { authorization: 'Bearer key-a' };
const records = Array.from({ length: 12 }, (_, i) => ({ question: `Question ${i}: why bound a table?`, answer: `Answer ${i}: so it cannot fill the disk.`, source: `doc-${i % 4}.md` }));
/** Bounds that never cut: each case sets the one it tests. */
const LOOSE = { ttlDays: 0, maxBytes: 1e12 };

describe.each(DATABASES)('export retention (%s)', (db) => {
  let h: Harness;
  let dataset: string;
  beforeAll(async () => {
    h = await startHarness({ db, env: { API_KEYS: 'key-a' } });
    dataset = (await request(h.url).post('/v1/datasets').set(A).send({ name: 'qa', records }).expect(201)).body.dataset.id;
  });
  afterAll(() => h?.close());

  const sut = () => h.quarry.database.db;
  const exportNow = async () => {
    const run = (await request(h.url).post('/v1/export').set(A).set('Prefer', 'wait=60').send({ dataset_ids: [dataset], format: 'parquet', split: { train: 0.5, test: 0.5 } }).expect(200)).body.run;
    expect(run.status).toBe('succeeded');
    return run.id as string;
  };
  /** Makes an export's files `days` old. */
  const age = (id: string, days: number) => sut().execute(sql`update export_files set created_at = now() - ${days} * interval '1 day' where run_id = ${id}`);
  const filesOf = async (id: string) => (await rows<{ n: number }>(sut(), sql`select count(*)::int as n from export_files where run_id = ${id}`))[0].n;
  const bytesOf = async (id: string) => (await rows<{ n: number }>(sut(), sql`select sum(bytes)::float8 as n from export_files where run_id = ${id}`))[0].n;
  const clear = () => sut().execute(sql`delete from export_files`);

  /** The three routes of an expired export: each a 410 that says so. */
  async function expectExpired(id: string) {
    for (const path of [`/v1/exports/${id}`, `/v1/exports/${id}/archive`, `/v1/exports/${id}/files/README.md`]) {
      const res = await request(h.url).get(path).set(A).expect(410);
      expect(res.body.error.code).toBe('gone');
      expect(res.body.error.message).toMatch(new RegExp(`export ${id} expired: its files were removed by retention`));
    }
  }

  it('removes exports older than the TTL, all their files, and answers 410 for them; TTL 0 keeps them', async () => {
    await clear();
    const old = await exportNow();
    const fresh = await exportNow();
    expect(await filesOf(old)).toBeGreaterThan(1);
    await age(old, 8);
    await age(fresh, 6);
    expect(await evictExportFiles(sut(), { ...LOOSE, ttlDays: 0 })).toEqual({ discarded: 0, expired: 0, evicted: 0 });
    expect(await evictExportFiles(sut(), { ...LOOSE, ttlDays: 7 })).toEqual({ discarded: 0, expired: 1, evicted: 0 });
    expect(await filesOf(old)).toBe(0);
    await expectExpired(old);
    // The run itself is still there, as GET /v1/runs shows it.
    expect((await request(h.url).get(`/v1/runs/${old}`).set(A).expect(200)).body.run.status).toBe('succeeded');
    const kept = (await request(h.url).get(`/v1/exports/${fresh}`).set(A).expect(200)).body;
    expect(kept.files.map((f: { path: string }) => f.path)).toContain('README.md');
    await request(h.url).get(`/v1/exports/${fresh}/archive`).set(A).expect(200);
  });

  it('cuts all exports to the size bound, the oldest first and whole', async () => {
    await clear();
    const ids = [await exportNow(), await exportNow(), await exportNow()];
    for (const [i, id] of ids.entries()) await age(id, 3 - i);
    const sizes = await Promise.all(ids.map(bytesOf));
    const total = sizes.reduce((a, b) => a + b, 0);
    // One byte over: the oldest export goes, all of its files.
    expect(await evictExportFiles(sut(), { ...LOOSE, maxBytes: total - 1 })).toEqual({ discarded: 0, expired: 0, evicted: 1 });
    expect(await Promise.all(ids.map(filesOf))).toEqual([0, expect.any(Number), expect.any(Number)]);
    expect(await filesOf(ids[1])).toBeGreaterThan(0);
    // Room for the newest alone (a byte less would take it too).
    expect(await evictExportFiles(sut(), { ...LOOSE, maxBytes: sizes[2] })).toEqual({ discarded: 0, expired: 0, evicted: 1 });
    expect(await Promise.all(ids.map(filesOf))).toEqual([0, 0, expect.any(Number)]);
    expect(await evictExportFiles(sut(), { ...LOOSE, maxBytes: sizes[2] })).toEqual({ discarded: 0, expired: 0, evicted: 0 });
    await expectExpired(ids[0]);
    await expectExpired(ids[1]);
    await request(h.url).get(`/v1/exports/${ids[2]}`).set(A).expect(200);
  });

  it('never cuts an export still writing, and discards the files of a failed one', async () => {
    await clear();
    const writing = await exportNow();
    const failed = await exportNow();
    // The states a worker leaves them in, set directly: a run still writing, and one that failed after some files.
    await sut().execute(sql`update runs set status = 'running', finished_at = null where id = ${writing}`);
    await sut().execute(sql`update runs set status = 'failed' where id = ${failed}`);
    try {
      const failedView = (await request(h.url).get(`/v1/exports/${failed}`).set(A).expect(200)).body;
      expect(failedView).toMatchObject({ run: { status: 'failed' }, files: [] });
      const refused = await request(h.url).get(`/v1/exports/${failed}/archive`).set(A).expect(409);
      expect(refused.body.error.message).toBe(`export ${failed} is failed: it wrote no complete set of files`);
      expect((await request(h.url).get(`/v1/exports/${writing}/files/README.md`).set(A).expect(409)).body.error.message).toMatch(/is running: its files are not all written yet/);
      expect(await evictExportFiles(sut(), { ttlDays: 0.001, maxBytes: 0 })).toEqual({ discarded: 1, expired: 0, evicted: 0 });
      expect(await filesOf(failed)).toBe(0);
      expect(await filesOf(writing)).toBeGreaterThan(0);
      expect((await request(h.url).get(`/v1/exports/${writing}`).set(A).expect(200)).body.files.length).toBeGreaterThan(0);
    } finally {
      await sut().execute(sql`update runs set status = 'succeeded', finished_at = now() where id = ${writing}`);
    }
  });

  it('the maintenance loop applies EXPORT_TTL_DAYS', async () => {
    await clear();
    const id = await exportNow();
    await age(id, 2);
    const stop = startEviction(h.quarry.database, pino({ level: 'silent' }), { teacherCache: LOOSE, embeddings: LOOSE, exportFiles: { ttlDays: 1, maxBytes: 1e12 } }, 20);
    try {
      await expect.poll(() => filesOf(id), { timeout: 5000 }).toBe(0);
    } finally {
      stop();
    }
    await expectExpired(id);
  });
});

describe('export retention configuration', () => {
  it('reads EXPORT_TTL_DAYS and EXPORT_MAX_MB, with defaults', () => {
    expect(loadConfig({}).exportFiles).toEqual({ ttlDays: 7, maxBytes: 8192 * 1024 ** 2 });
    expect(loadConfig({ EXPORT_TTL_DAYS: '0', EXPORT_MAX_MB: '5' }).exportFiles).toEqual({ ttlDays: 0, maxBytes: 5 * 1024 ** 2 });
    expect(() => loadConfig({ EXPORT_MAX_MB: '0' })).toThrow(/EXPORT_MAX_MB/);
    expect(() => loadConfig({ EXPORT_TTL_DAYS: '-1' })).toThrow(/EXPORT_TTL_DAYS/);
  });
});
