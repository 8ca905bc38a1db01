import request from 'supertest';
import { request as httpRequest } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from './support/databases.js';
import { markdownDoc, startHarness, storedCounts, type Harness } from './support/harness.js';

/** The Prefer header as RFC 7240 writes it, on the job endpoints and GET /v1/runs/{id}. */
describe.each(DATABASES)('Prefer (%s)', (db) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ db, fake: { latencyMs: 1 } });
  });
  afterAll(() => h?.close());

  const generate = (prefer: string) => request(h.url).post('/v1/generate').set('Prefer', prefer).send({ documents: [markdownDoc('p.md', 1)], n_pairs: 1 });

  it.each([
    ['respond-async, wait=10', 'wait=10'],
    ['WAIT = 10; foo=bar, return=minimal', 'wait=10'],
    ['wait="10", handling=lenient', 'wait=10'],
    ['wait=10, wait=abc', 'wait=10'],
    ['wait=999999', 'wait=600'],
  ])('%j waits for the run: 200 with the finished run, Preference-Applied %j', async (prefer, applied) => {
    const res = await generate(prefer).expect(200);
    expect(res.body.run.status).toBe('succeeded');
    expect(res.headers['preference-applied']).toBe(applied);
  });

  it('respond-async alone answers 202 at once and says it honoured it', async () => {
    const res = await generate('respond-async').expect(202);
    expect(res.body.run.status).toBe('queued');
    expect(res.headers['preference-applied']).toBe('respond-async');
  });

  it('respond-async with a wait that runs out answers 202, honouring both', async () => {
    h.fake.configure({ latencyMs: 2500 });
    const res = await generate('respond-async, wait=1').expect(202);
    h.fake.configure({ latencyMs: 1 });
    expect(res.body.run.status).not.toBe('succeeded');
    expect(res.headers['preference-applied']).toBe('wait=1, respond-async');
    // Let it finish, so no record of it lands while a later case counts rows.
    await request(h.url).get(`/v1/runs/${res.body.run.id}`).set('Prefer', 'wait=20').expect(200);
  });

  it('preferences Quarry does not know are ignored', async () => {
    const res = await generate('return=representation, handling=strict, odata.maxpagesize=5').expect(202);
    expect(res.headers['preference-applied']).toBeUndefined();
  });

  it('reads preferences across several Prefer header lines', async () => {
    const res = await httpRequest(`${h.url}/v1/generate`, {
      method: 'POST',
      headers: ['content-type', 'application/json', 'prefer', 'respond-async', 'prefer', 'wait=20'],
      body: JSON.stringify({ documents: [markdownDoc('lines.md', 1)], n_pairs: 1 }),
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['preference-applied']).toBe('wait=20');
    await res.body.dump();
  });

  it.each(['wait=soon', 'wait=-1', 'wait=1.5', 'wait', 'wait=', 'wait=10 20', 'respond-async, Wait=1e3', `wait=${'9'.repeat(16)}`])(
    'a wait that is not a whole number of seconds (%j) is a 400 naming Prefer, and queues nothing',
    async (prefer) => {
      const before = await storedCounts(h);
      const res = await generate(prefer).expect(400);
      expect(res.body.error).toMatchObject({ code: 'validation_failed', details: [{ field: 'prefer' }] });
      expect(res.body.error.message).toMatch(/^Prefer header: wait must be a whole number of seconds/);
      expect(await storedCounts(h)).toEqual(before);
    },
  );

  it('a Prefer header over 1,024 characters is a 400 naming it', async () => {
    const res = await generate(`respond-async, ${'x'.repeat(1100)}`).expect(400);
    expect(res.body.error.details[0].field).toBe('prefer');
  });

  it('GET /v1/runs/{id} reads the same grammar', async () => {
    const run = (await generate('respond-async').expect(202)).body.run;
    const res = await request(h.url).get(`/v1/runs/${run.id}`).set('Prefer', 'respond-async, wait=20').expect(200);
    expect(res.body.run.status).toBe('succeeded');
    expect(res.headers['preference-applied']).toBe('wait=20');
    const bad = await request(h.url).get(`/v1/runs/${run.id}`).set('Prefer', 'wait=later').expect(400);
    expect(bad.body.error.details[0].field).toBe('prefer');
  });
});
