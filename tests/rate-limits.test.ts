import request from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { openDatabase, rows } from '../db/client.js';
import { startFakeLlm, type FakeLlm } from '../src/fake-llm/server.js';
import { createQuarry } from '../src/quarry.js';
import { DATABASES } from './support/databases.js';
import { startHarness, type Harness } from './support/harness.js';
import { achievedRate, rateProvidersFile, runToEnd, sectionsDoc } from './support/rate-runs.js';

// The target: with a teacher allowing R requests a second, a configured R sustains ≥ 0.95 R
// with zero 429s, a learned one ≥ 0.85 R with a handful. R = 25 and 250 calls: ~10 s a case, long
// enough that the first second's burst does not carry the average (the fake measures at arrival).
const R = 25;
const CALLS = 250;

describe.each(DATABASES)('provider rate limits (%s)', (db) => {
  let fake: FakeLlm;
  let h: Harness;
  beforeAll(async () => {
    fake = await startFakeLlm({ latencyMs: 5 });
    h = await startHarness({ db, fakeLlm: fake, env: { PROVIDERS_FILE: rateProvidersFile(fake, R) } });
  });
  afterAll(async () => {
    await h?.close();
    await fake?.close();
  });
  beforeEach(() => {
    fake.reset();
    fake.configure({ rate: { rps: R } });
  });

  it('GET /v1/providers shows the configured limits', async () => {
    const res = await request(h.url).get('/v1/providers').expect(200);
    const byName = Object.fromEntries(res.body.providers.map((p: { name: string }) => [p.name, p]));
    expect(byName.limited.limits).toMatchObject({ rpm: R * 60, tpm: null, input_tpm: null, output_tpm: null });
    expect(byName.learned.limits).toMatchObject({ rpm: null });
  });

  it('a configured limit: zero 429s and at least 0.95 R sustained', async () => {
    const run = await runToEnd(h.url, { documents: [sectionsDoc(`conf${db}`, CALLS)], n_pairs: 1, llm: { provider: 'limited', cache: 'off' } });
    expect(run).toMatchObject({ status: 'succeeded', progress: { done: CALLS, failed: 0 } });
    const { answered, perSecond } = achievedRate(fake);
    expect(answered).toBe(CALLS);
    expect(fake.stats().rateLimited).toBe(0);
    expect(perSecond).toBeGreaterThanOrEqual(0.95 * R);
  }, 60_000);

  it('a limit learned from the x-ratelimit-* headers: at least 0.85 R with a handful of 429s', async () => {
    const run = await runToEnd(h.url, { documents: [sectionsDoc(`learn${db}`, CALLS)], n_pairs: 1, llm: { provider: 'learned', cache: 'off' } });
    expect(run).toMatchObject({ status: 'succeeded', progress: { done: CALLS, failed: 0 } });
    const { perSecond } = achievedRate(fake);
    expect(fake.stats().rateLimited).toBeLessThanOrEqual(15);
    expect(perSecond).toBeGreaterThanOrEqual(0.85 * R);
    const metrics = await fetch(`${h.url}/metrics`).then((r) => r.text());
    expect(metrics).toMatch(/quarry_llm_rate_limit_wait_seconds_total\{provider="learned"\} [\d.]+/);
    // Every 429 the fake sent was seen (none hidden inside the SDK's own retries).
    const counted = Number(/quarry_llm_429_total\{provider="learned"\} (\d+)/.exec(metrics)?.[1] ?? 0);
    expect(counted).toBe(fake.stats().rateLimited);
  }, 60_000);

  it('Anthropic: a configured limit holds through the anthropic-ratelimit-* endpoint', async () => {
    const run = await runToEnd(h.url, { documents: [sectionsDoc(`claude${db}`, 100)], n_pairs: 1, llm: { provider: 'claude', model: 'claude-test', cache: 'off' } });
    expect(run).toMatchObject({ status: 'succeeded', progress: { done: 100, failed: 0 } });
    expect(fake.stats().rateLimited).toBe(0);
    expect(achievedRate(fake, '/v1/messages').perSecond).toBeGreaterThanOrEqual(0.9 * R);
  }, 60_000);

  it('two worker processes on one database share one limit', async () => {
    // A second service instance — its own LlmClient, worker loop and connection — on the same database.
    const database = db === 'postgres' ? await openDatabase({ databaseUrl: h.databaseUrl }) : h.quarry.database;
    const second = await createQuarry(h.config, { database, http: false, worker: true, log: h.quarry.log });
    await second.start();
    try {
      const run = await runToEnd(h.url, { documents: [sectionsDoc(`two${db}`, 200)], n_pairs: 1, llm: { provider: 'limited', cache: 'off' } });
      expect(run).toMatchObject({ status: 'succeeded', progress: { done: 200, failed: 0 } });
      // Both loops took part (a worker keeps its id on the tasks it finished).
      const [row] = await rows<{ workers: number }>(h.quarry.database.db, sql`select count(distinct worker_id)::int as workers from tasks where run_id = ${run.id}`);
      expect(row.workers).toBe(2);
      expect(fake.stats().rateLimited).toBe(0);
      expect(achievedRate(fake).perSecond).toBeGreaterThanOrEqual(0.9 * R);
    } finally {
      await second.stop(0);
      if (db === 'postgres') await database.close();
    }
  }, 60_000);
});
