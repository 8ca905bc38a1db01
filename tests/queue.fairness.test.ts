import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from './support/databases.js';
import { markdownDoc, startHarness, type Harness } from './support/harness.js';
import { readSse } from './support/streams.js';

/** End to end: two API keys share one worker (8 slots) and the fake teacher. */
describe.each(DATABASES)('fair claiming across API keys (%s)', (db) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ db, env: { API_KEYS: 'key-big,key-small' }, fake: { latencyMs: 20 } });
  });
  afterAll(() => h?.close());

  const as = (key: string) => ({ Authorization: `Bearer ${key}` });

  it('a key’s 10-task run queued after another key’s 5,000-task run finishes while the big one is far from done', async () => {
    const big = (await request(h.url).post('/v1/generate').set(as('key-big')).send({ documents: [markdownDoc('big.md', 5000, 20)], n_pairs: 1 }).expect(202)).body.run;
    expect(big.progress.total).toBeGreaterThanOrEqual(5000);
    // The big run has the worker to itself first: wait until its records are flowing.
    await readSse(`${h.url}${big.links.events}`, as('key-big'), { stopAfter: 40 });

    const small = await request(h.url).post('/v1/generate').set(as('key-small')).set('Prefer', 'wait=120').send({ documents: [markdownDoc('small.md', 10)], n_pairs: 1 }).expect(200);
    const bigThen = (await request(h.url).get(`/v1/runs/${big.id}`).set(as('key-big')).expect(200)).body.run;
    expect(small.body.run).toMatchObject({ status: 'succeeded', progress: { total: 10, done: 10, failed: 0 } });
    console.log(
      `fairness (${db}): the 10-task run of key-small succeeded when key-big's run had ${bigThen.progress.done} of ${bigThen.progress.total} tasks done ` +
        `(${((100 * bigThen.progress.done) / bigThen.progress.total).toFixed(1)}%)`,
    );
    // Oldest first, the small run would have waited for all 5,000.
    expect(bigThen.status).toBe('running');
    expect(bigThen.progress.done).toBeLessThan(bigThen.progress.total / 10);
    await request(h.url).post(`/v1/runs/${big.id}/cancel`).set(as('key-big')).expect(200);
  }, 120_000);
});
