import { sql } from 'drizzle-orm';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rows } from '../db/client.js';
import { DATABASES } from './support/databases.js';
import { markdownDoc, startHarness, type Harness } from './support/harness.js';

/**
 * The response cache end to end: real jobs through the worker against the fake teacher, whose
 * received completions are counted. One document of 100 sections is 100 QA tasks of one call each.
 */
const A = { authorization: 'Bearer key-a' };
const B = { authorization: 'Bearer key-b' };
const JOB = { documents: [markdownDoc('cache.md', 100)], n_pairs: 1 };

describe.each(DATABASES)('response cache (%s)', (db) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ db, fake: { latencyMs: 1 }, env: { API_KEYS: 'key-a,key-b', CACHE_DEFAULT: 'use' } });
  });
  afterAll(() => h?.close());

  /** Runs a job to its end; returns the run and how many completions the teacher received meanwhile. */
  const run = async (key: Record<string, string>, body: Record<string, unknown>) => {
    h.fake.reset();
    const res = await request(h.url).post('/v1/generate').set(key).set('Prefer', 'wait=60').send(body);
    expect(res.status, res.text).toBe(200);
    expect(res.body.run.status).toBe('succeeded');
    return { run: res.body.run, calls: h.fake.stats().completions };
  };
  const records = async (key: Record<string, string>, datasetId: string) => {
    const res = await request(h.url).get(`/v1/datasets/${datasetId}/records?limit=1000`).set(key).expect(200);
    return (res.body.records as Array<{ key: string; data: unknown }>).map((r) => ({ key: r.key, data: r.data })).sort((x, y) => x.key.localeCompare(y.key));
  };
  const stats = async (key: Record<string, string>) => (await request(h.url).get('/v1/cache').set(key).expect(200)).body;

  let first: { run: { id: string; output: { dataset_id: string } }; calls: number };

  it('a first run calls the teacher for each of its 100 tasks and keeps the answers', async () => {
    first = await run(A, JOB);
    expect(first.run).toMatchObject({ progress: { total: 100, done: 100, cache_hits: 0 }, usage: { requests: 100, cache_hits: 0 } });
    expect(first.calls).toBe(100);
    expect(await stats(A)).toMatchObject({ entries: 100, hits: 0 });
  });

  it('an identical rerun makes no teacher call, costs nothing, counts 100 cache hits and writes the same records', async () => {
    const again = await run(A, JOB);
    expect(again.calls).toBe(0);
    expect(again.run.usage).toEqual({ requests: 0, input_tokens: 0, output_tokens: 0, cost_usd: 0, cache_hits: 100 });
    expect(again.run.progress).toMatchObject({ done: 100, cache_hits: 100, tokens: { input: 0, output: 0 }, cost_usd: 0 });
    expect(await records(A, again.run.output.dataset_id)).toEqual(await records(A, first.run.output.dataset_id));
    // The run's last progress event says so too.
    const [last] = await rows<{ data: { cache_hits: number } }>(
      h.quarry.database.db,
      sql`select data from run_events where run_id = ${again.run.id} and type = 'progress' order by id desc limit 1`,
    );
    expect(last.data.cache_hits).toBe(100);
    const s = await stats(A);
    expect(s).toMatchObject({ entries: 100, hits: 100, by_model: [{ provider: 'openai', entries: 100, hits: 100 }] });
  });

  it("another API key's identical job never receives the first key's answers", async () => {
    const other = await run(B, JOB);
    expect(other.calls).toBe(100);
    expect(other.run.usage).toMatchObject({ requests: 100, cache_hits: 0 });
    expect(await stats(B)).toMatchObject({ entries: 100, hits: 0 });
  });

  it('cache: "refresh" calls the teacher for every task and replaces the kept answers', async () => {
    const before = await stats(A);
    const fresh = await run(A, { ...JOB, cache: 'refresh' });
    expect(fresh.calls).toBe(100);
    expect(fresh.run.usage).toMatchObject({ requests: 100, cache_hits: 0 });
    const after = await stats(A);
    expect(after).toMatchObject({ entries: 100, hits: 0 });
    expect(new Date(after.oldest).getTime()).toBeGreaterThanOrEqual(new Date(before.newest).getTime());
  });

  it('cache: "off" (or llm.cache) calls the teacher and keeps nothing', async () => {
    expect((await request(h.url).delete('/v1/cache').set(A).expect(200)).body).toEqual({ deleted: 100 });
    const off = await run(A, { ...JOB, cache: 'off' });
    expect(off.calls).toBe(100);
    expect(await stats(A)).toMatchObject({ entries: 0 });
    const offToo = await run(A, { ...JOB, llm: { cache: 'off' }, cache: 'off' });
    expect(offToo.calls).toBe(100);
    expect(await stats(A)).toMatchObject({ entries: 0 });
    // key-b's answers were not touched by key-a's delete.
    expect(await stats(B)).toMatchObject({ entries: 100 });
  });

  it('refuses a top-level cache that differs from llm.cache with a 400 naming cache', async () => {
    const res = await request(h.url).post('/v1/generate').set(A).send({ ...JOB, cache: 'use', llm: { cache: 'off' } });
    expect(res.status, res.text).toBe(400);
    expect(res.body.error.details.map((d: { field: string }) => d.field)).toEqual(['cache']);
    const bad = await request(h.url).post('/v1/generate').set(A).send({ ...JOB, cache: 'sometimes' });
    expect(bad.status).toBe(400);
  });

  it('a pipeline stage takes its own cache; a stage giving both, different, is refused naming the stage', async () => {
    const res = await request(h.url).post('/v1/pipelines').set(A).send({ generate: { ...JOB, cache: 'off', llm: { cache: 'use' } } });
    expect(res.status, res.text).toBe(400);
    expect(res.body.error.details.map((d: { field: string }) => d.field)).toContain('generate.cache');
    h.fake.reset();
    const ok = await request(h.url).post('/v1/pipelines').set(A).set('Prefer', 'wait=60').send({ generate: { documents: [markdownDoc('stage.md', 3)], n_pairs: 1, cache: 'off' } });
    expect(ok.status, ok.text).toBe(200);
    expect(ok.body.run.status).toBe('succeeded');
    expect(ok.body.run.spec.generate.llm).toEqual({ cache: 'off' });
    expect(h.fake.stats().completions).toBe(3);
    expect(await stats(A)).toMatchObject({ entries: 0 });
    // With the cache in use, a rerun's stage hits it, and the pipeline's usage sums its stages' hits.
    const pipeline = { generate: { documents: [markdownDoc('stage.md', 3)], n_pairs: 1 } };
    await request(h.url).post('/v1/pipelines').set(A).set('Prefer', 'wait=60').send(pipeline).expect(200);
    h.fake.reset();
    const rerun = await request(h.url).post('/v1/pipelines').set(A).set('Prefer', 'wait=60').send(pipeline).expect(200);
    expect(rerun.body.run).toMatchObject({ status: 'succeeded', usage: { requests: 0, cache_hits: 3 }, progress: { cache_hits: 3 } });
    expect(h.fake.stats().completions).toBe(0);
    await request(h.url).delete('/v1/cache').set(A).expect(200);
  });

  it('does not keep an answer the caller rejects (schema-failing), so a rerun asks again', async () => {
    const one = { documents: [markdownDoc('rejected.md', 1)], n_pairs: 1 };
    const before = (await stats(B)).entries;
    h.fake.reset();
    h.fake.configure({ faults: [{ kind: 'schema', times: 1 }] });
    const res = await request(h.url).post('/v1/generate').set(B).set('Prefer', 'wait=60').send(one);
    expect(res.body.run.status).toBe('succeeded');
    expect(h.fake.stats().faults.schema).toBe(1);
    const calls = h.fake.stats().completions;
    expect(calls).toBeGreaterThanOrEqual(2);
    // Of its calls only the one the caller took is kept: the rejected answer is not.
    expect((await stats(B)).entries - before).toBe(calls - 1);
    // The rerun's first request is the one rejected before: a miss, asked again (and now answered well).
    const again = await run(B, one);
    expect(again.calls).toBe(1);
    const third = await run(B, one);
    expect(third.calls).toBe(0);
  });

  it('GET /v1/cache shows the bounds; DELETE filters by provider, model and age, and only the caller’s', async () => {
    const s = await stats(B);
    expect(s.bounds).toEqual({ ttl_days: 30, max_bytes: 1024 * 1024 * 1024, max_entry_bytes: 1024 * 1024, embeddings: { ttl_days: 90, max_bytes: 4096 * 1024 * 1024 } });
    expect(s.entries).toBeGreaterThan(100);
    expect(typeof s.oldest).toBe('string');
    const del = (key: Record<string, string>, query: string) => request(h.url).delete(`/v1/cache${query}`).set(key);
    expect((await del(B, '?provider=anthropic').expect(200)).body).toEqual({ deleted: 0 });
    expect((await del(B, '?model=no-such-model').expect(200)).body).toEqual({ deleted: 0 });
    expect((await del(B, '?older_than=2000-01-01T00:00:00Z').expect(200)).body).toEqual({ deleted: 0 });
    expect((await del(A, '').expect(200)).body).toEqual({ deleted: 0 });
    expect((await del(B, '?older_than=nonsense').expect(400)).body.error.code).toBe('validation_failed');
    const model = s.by_model[0].model;
    expect((await del(B, `?provider=openai&model=${encodeURIComponent(model)}&older_than=${new Date(Date.now() + 60_000).toISOString()}`).expect(200)).body).toEqual({ deleted: s.entries });
    expect(await stats(B)).toMatchObject({ entries: 0, bytes: 0, hits: 0, oldest: null, newest: null, by_model: [] });
    await request(h.url).get('/v1/cache').expect(401);
  });

  it('/metrics counts cache hits and misses per provider', async () => {
    const text = (await request(h.url).get('/metrics').expect(200)).text;
    const hits = Number(/quarry_llm_cache_total\{provider="openai",result="hit"\} (\d+)/.exec(text)?.[1]);
    const misses = Number(/quarry_llm_cache_total\{provider="openai",result="miss"\} (\d+)/.exec(text)?.[1]);
    expect(hits).toBeGreaterThanOrEqual(100);
    expect(misses).toBeGreaterThanOrEqual(200);
  });
});
