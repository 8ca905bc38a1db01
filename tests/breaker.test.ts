import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeLlm, type FakeLlm } from '../src/fake-llm/server.js';
import { DATABASES } from './support/databases.js';
import { startHarness, type Harness } from './support/harness.js';
import { runToEnd, sectionsDoc } from './support/rate-runs.js';
import { readSse } from './support/streams.js';

// A minute of nothing but 429s, as the issue asks: the breaker opens, probes with a doubling pause
// (1, 2, 4, 8, 16, then at most 30 s) and closes once a probe is answered.
const OUTAGE_S = 60;
const CALLS = 40;

describe.each(DATABASES)('a teacher that answers only 429 for a while (%s)', (db) => {
  let fake: FakeLlm;
  let h: Harness;
  beforeAll(async () => {
    fake = await startFakeLlm({ latencyMs: 5 });
    h = await startHarness({ db, fakeLlm: fake });
  });
  afterAll(async () => {
    await h?.close();
    await fake?.close();
  });

  it('opens the breaker, tells the run provider.throttled then provider.resumed, and loses nothing', async () => {
    fake.configure({ rateLimitedForS: OUTAGE_S });
    const started = Date.now();
    const run = await runToEnd(h.url, { documents: [sectionsDoc(`outage${db}`, CALLS)], n_pairs: 1, llm: { cache: 'off' } }, 150_000);
    expect(run).toMatchObject({ status: 'succeeded', progress: { done: CALLS, failed: 0, records: CALLS } });
    expect(Date.now() - started).toBeGreaterThanOrEqual(OUTAGE_S * 1000);

    const { events } = await readSse(`${h.url}/v1/runs/${run.id}/events?after=0`);
    const types = events.map((e) => e.type);
    const throttled = types.indexOf('provider.throttled');
    const resumed = types.lastIndexOf('provider.resumed');
    expect(throttled).toBeGreaterThanOrEqual(0);
    expect(resumed).toBeGreaterThan(throttled);
    expect(events[throttled].data).toMatchObject({ provider: 'openai', reason: 'rate_limited', pause_ms: expect.any(Number) });
    expect(events[resumed].data).toMatchObject({ provider: 'openai', paused_ms: expect.any(Number) });
    // Nothing resumed before the outage ended, and every throttled event came before the run's end.
    expect(events[resumed].data.paused_ms).toBeGreaterThan(0);
    expect(types.at(-1)).toBe('run.succeeded');

    // Paused, not spinning: the fake saw far fewer requests than a retry loop would send in a minute.
    const refused = fake.stats().rateLimited;
    expect(refused).toBeGreaterThanOrEqual(10);
    expect(refused).toBeLessThan(100);

    const metrics = await fetch(`${h.url}/metrics`).then((r) => r.text());
    expect(metrics).toMatch(/quarry_llm_429_total\{provider="openai"\} \d+/);
    expect(metrics).toMatch(/quarry_llm_breaker_state\{provider="openai"\} 0/);
  }, 170_000);
});
