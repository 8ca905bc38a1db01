import { sql } from 'drizzle-orm';
import { pino } from 'pino';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rows } from '../db/client.js';
import { loadConfig } from '../src/config.js';
import { createQuarry, type Quarry } from '../src/quarry.js';
import { DATABASES } from './support/databases.js';
import { markdownDoc, startHarness, type Harness } from './support/harness.js';

const A = { authorization: 'Bearer key-a' };
const B = { authorization: 'Bearer key-b' };
const job = (name: string) => ({ documents: [markdownDoc(name, 1)], n_pairs: 1 });

function expectRateLimited(res: request.Response) {
  expect(res.status, res.text).toBe(429);
  expect(res.body.error.code).toBe('rate_limited');
  expect(res.body.error.details[0].field).toBe('Authorization');
  const retryAfter = Number(res.headers['retry-after']);
  expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `Retry-After: ${res.headers['retry-after']}`).toBe(true);
}

const runCount = async (h: Harness) => (await rows<{ n: number }>(h.quarry.database.db, sql`select count(*)::int as n from runs`))[0].n;

describe.each(DATABASES)('MAX_RUNS_IN_FLIGHT_PER_KEY: runs one key may have queued or running (%s)', (db) => {
  let h: Harness;
  beforeAll(async () => {
    // No worker: runs stay queued, so they stay in flight.
    h = await startHarness({ db, env: { API_KEYS: 'key-a,key-b', MAX_RUNS_IN_FLIGHT_PER_KEY: '3', WORKER_CONCURRENCY: '0' } });
  });
  afterAll(() => h?.close());

  it('refuses the run over the limit with 429 and Retry-After, queues nothing, and leaves other keys alone', async () => {
    for (let i = 0; i < 3; i++) await request(h.url).post('/v1/generate').set(A).send(job(`a${i}.md`)).expect(202);
    const before = await runCount(h);
    for (const path of ['/v1/generate', '/v1/topics']) {
      const body = path === '/v1/topics' ? { prompt: 'Postgres', degree: 2, depth: 1 } : job('over.md');
      const res = await request(h.url).post(path).set(A).send(body);
      expectRateLimited(res);
      expect(res.body.error.details[0]).toMatchObject({ in_flight: 3, limit: 3 });
    }
    expect(await runCount(h)).toBe(before);
    expect((await request(h.url).get('/v1/runs').set(A).expect(200)).body.runs).toHaveLength(3);
    // Another key has its own allowance.
    await request(h.url).post('/v1/generate').set(B).send(job('b.md')).expect(202);
  });

  it('admits again once a run has ended, and a repeated Idempotency-Key is a replay, not a new run', async () => {
    const [first] = (await request(h.url).get('/v1/runs').set(A).expect(200)).body.runs;
    await request(h.url).post(`/v1/runs/${first.id}/cancel`).set(A).expect(200);
    const run = (await request(h.url).post('/v1/generate').set(A).set('Idempotency-Key', 'k1').send(job('again.md')).expect(202)).body.run;
    const replay = await request(h.url).post('/v1/generate').set(A).set('Idempotency-Key', 'k1').send(job('again.md')).expect(202);
    expect(replay.body.run.id).toBe(run.id);
    expectRateLimited(await request(h.url).post('/v1/generate').set(A).send(job('over.md')));
    // Retrying the canceled run would put a fourth in flight.
    expectRateLimited(await request(h.url).post(`/v1/runs/${first.id}/retry`).set(A));
    expect((await request(h.url).get(`/v1/runs/${first.id}`).set(A).expect(200)).body.run.status).toBe('canceled');
  });

  it('admits exactly up to the limit when requests race', async () => {
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => request(h.url).post('/v1/generate').set(B).send(job(`race${i}.md`))));
    const statuses = results.map((r) => r.status).sort();
    // key-b had 1 run in flight: 2 more fit.
    expect(statuses).toEqual([202, 202, 429, 429, 429, 429, 429, 429]);
  });
});

describe.each(DATABASES)('MAX_RUNS_IN_FLIGHT_PER_KEY and racing retries (%s)', (db) => {
  let h: Harness;
  const C = { Authorization: 'Bearer key-c' };
  beforeAll(async () => {
    h = await startHarness({ db, env: { API_KEYS: 'key-c', MAX_RUNS_IN_FLIGHT_PER_KEY: '2', WORKER_CONCURRENCY: '0' } });
  });
  afterAll(() => h?.close());

  it('admits retries under the same per-key lock as new runs: of two racing retries with one slot left, exactly one gets in', async () => {
    const start = async (name: string) => (await request(h.url).post('/v1/generate').set(C).send(job(name)).expect(202)).body.run.id as string;
    const cancel = (id: string) => request(h.url).post(`/v1/runs/${id}/cancel`).set(C).expect(200);
    for (let round = 0; round < 5; round++) {
      const [x, y] = [await start(`x${round}.md`), await start(`y${round}.md`)];
      await Promise.all([cancel(x), cancel(y)]);
      const running = await start(`z${round}.md`);
      const results = await Promise.all([x, y].map((id) => request(h.url).post(`/v1/runs/${id}/retry`).set(C)));
      expect(results.map((r) => r.status).sort()).toEqual([200, 429]);
      const inFlight = (await request(h.url).get('/v1/runs?limit=200').set(C).expect(200)).body.runs.filter((r: any) => ['queued', 'running'].includes(r.status));
      expect(inFlight).toHaveLength(2);
      for (const r of inFlight) await cancel(r.id);
      expect(running).toBeTruthy();
    }
  });
});

describe('MAX_RUNS_IN_FLIGHT_PER_KEY holds across API processes (postgres)', () => {
  let h: Harness;
  let second: Quarry;
  let secondUrl: string;
  beforeAll(async () => {
    if (!DATABASES.includes('postgres')) return;
    h = await startHarness({ db: 'postgres', env: { API_KEYS: 'key-a', MAX_RUNS_IN_FLIGHT_PER_KEY: '4', WORKER_CONCURRENCY: '0' } });
    // A second API process on the same database: its own connection pool, its own rate limiter.
    second = await createQuarry(loadConfig({ ...h.config.env, DATA_DIR: 'memory://', DATABASE_URL: h.databaseUrl }), { log: pino({ level: 'silent' }), worker: false });
    await second.start();
    secondUrl = await second.app!.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await second?.stop(0);
    await h?.close();
  });

  it.runIf(DATABASES.includes('postgres'))('admits four runs in all when ten requests race over two processes', async () => {
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => request(i % 2 ? secondUrl : h.url).post('/v1/generate').set(A).send(job(`p${i}.md`))));
    expect(results.filter((r) => r.status === 202)).toHaveLength(4);
    for (const r of results.filter((r) => r.status !== 202)) expectRateLimited(r);
    expect(await runCount(h)).toBe(4);
  });
});

describe('a pipeline and its stage runs count as one run in flight', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ db: 'pglite', env: { MAX_RUNS_IN_FLIGHT_PER_KEY: '2' } });
  });
  afterAll(() => h?.close());

  it('counts the pipeline once while its generate stage runs', async () => {
    // The teacher never answers: the stage stays running.
    h.fake.configure({ faults: [{ kind: 'hang' }] });
    const pipeline = (await request(h.url).post('/v1/pipelines').send({ generate: job('p.md') }).expect(202)).body.run;
    await expect.poll(async () => (await request(h.url).get('/v1/runs').expect(200)).body.runs.length, { timeout: 10_000 }).toBe(2);
    const runs = (await request(h.url).get('/v1/runs').expect(200)).body.runs;
    expect(runs.map((r: { status: string }) => r.status)).toEqual(['running', 'running']);
    expect(runs.some((r: { id: string }) => r.id === pipeline.id)).toBe(true);
    // Two rows in flight, one of them a stage: the pipeline counts once, so one more run fits.
    await request(h.url).post('/v1/generate').send(job('one-more.md')).expect(202);
    expectRateLimited(await request(h.url).post('/v1/generate').send(job('too-many.md')));
  });
});

describe.each(DATABASES)('RATE_LIMIT_PER_MINUTE: /v1 requests per key per minute (%s)', (db) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ db, env: { API_KEYS: 'key-a,key-b', RATE_LIMIT_PER_MINUTE: '5', WORKER_CONCURRENCY: '0' } });
  });
  afterAll(() => h?.close());

  it('answers 429 with Retry-After past the limit, queues nothing, and leaves other keys and the probes alone', async () => {
    for (let i = 0; i < 5; i++) {
      const res = await request(h.url).get('/v1/runs').set(A).expect(200);
      expect(res.headers['x-ratelimit-limit']).toBe('5');
      expect(res.headers['x-ratelimit-remaining']).toBe(String(4 - i));
    }
    const before = await runCount(h);
    expectRateLimited(await request(h.url).get('/v1/runs').set(A));
    const refused = await request(h.url).post('/v1/generate').set(A).send(job('flood.md'));
    expectRateLimited(refused);
    expect(refused.body.error.details[0].retry_after).toBe(Number(refused.headers['retry-after']));
    expect(await runCount(h)).toBe(before);
    // Other keys, the probes and the contract are not counted against key-a.
    await request(h.url).post('/v1/generate').set(B).send(job('b.md')).expect(202);
    for (const path of ['/healthz', '/readyz', '/metrics', '/openapi.json']) await request(h.url).get(path).set(A).expect(200);
    // A request without a valid key is still a 401, not a 429.
    expect((await request(h.url).get('/v1/runs')).status).toBe(401);
  });

  it('declares the 429 in the contract of every /v1 route', async () => {
    const spec = (await request(h.url).get('/openapi.json').expect(200)).body;
    const operations = Object.entries(spec.paths as Record<string, Record<string, { responses: Record<string, unknown> }>>)
      .filter(([path]) => path.startsWith('/v1/'))
      .flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => [`${method} ${path}`, Object.keys(op.responses)] as const));
    expect(operations.length).toBeGreaterThan(10);
    for (const [operation, statuses] of operations) expect(statuses, operation).toContain('429');
  });
});
