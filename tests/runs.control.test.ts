import request from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { markdownDoc, startHarness, type Harness } from './support/harness.js';
import { readSse } from './support/streams.js';

describe('run control: cancel, idempotency, Prefer: wait', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ db: 'pglite', fake: { latencyMs: 2 } });
  });
  afterAll(() => h?.close());
  beforeEach(() => {
    h.fake.reset();
    h.fake.configure({ latencyMs: 2 });
  });

  it('cancel withdraws queued tasks and aborts in-flight teacher calls within a couple of seconds', async () => {
    h.fake.configure({ latencyMs: 400 });
    const run = (await request(h.url).post('/v1/generate').send({ documents: [markdownDoc('slow.md', 40)], n_pairs: 1 }).expect(202)).body.run;
    const firstRecord = await readSse(`${h.url}${run.links.events}`, {}, { stopAfter: 4 });
    expect(firstRecord.events.map((e) => e.type)).toContain('record.created');
    // Cancel while teacher calls are in flight (between two waves there may briefly be none).
    const waitFrom = Date.now();
    while (h.fake.stats().inFlight === 0 && Date.now() - waitFrom < 2000) await new Promise((r) => setTimeout(r, 5));
    expect(h.fake.stats().inFlight).toBeGreaterThan(0);

    const canceledAt = Date.now();
    const canceled = await request(h.url).post(`/v1/runs/${run.id}/cancel`).expect(200);
    expect(canceled.body.run.status).toBe('canceled');
    // The fake sees its in-flight requests dropped (aborted sockets), well before their 400 ms latency would end them.
    while (h.fake.stats().inFlight > 0 && Date.now() - canceledAt < 2000) await new Promise((r) => setTimeout(r, 20));
    expect(h.fake.stats().inFlight).toBe(0);
    expect(Date.now() - canceledAt).toBeLessThan(2000);
    const requestsAtCancel = h.fake.stats().requests;

    await new Promise((r) => setTimeout(r, 600));
    expect(h.fake.stats().requests).toBe(requestsAtCancel);
    const after = (await request(h.url).get(`/v1/runs/${run.id}`).expect(200)).body.run;
    expect(after.status).toBe('canceled');
    expect(after.output.report.tasks.queued ?? 0).toBe(0);
    expect(after.output.report.tasks.running ?? 0).toBe(0);
    expect(after.output.report.tasks.canceled).toBeGreaterThan(20);
    const stored = (await request(h.url).get(`/v1/datasets/${run.output.dataset_id}`).expect(200)).body.dataset.record_count;
    expect(stored).toBe(after.progress.records);

    const stream = await readSse(`${h.url}${run.links.events}`);
    expect(stream.events.at(-1)!.type).toBe('run.canceled');
    await request(h.url).post(`/v1/runs/${run.id}/cancel`).expect(409);
  });

  it('a canceled run can be resumed with retry and completes with exactly the expected records', async () => {
    h.fake.configure({ latencyMs: 200 });
    const run = (await request(h.url).post('/v1/generate').send({ documents: [markdownDoc('resume.md', 20)], n_pairs: 2 }).expect(202)).body.run;
    await readSse(`${h.url}${run.links.events}`, {}, { stopAfter: 4 });
    await request(h.url).post(`/v1/runs/${run.id}/cancel`).expect(200);
    h.fake.configure({ latencyMs: 2 });
    await request(h.url).post(`/v1/runs/${run.id}/retry`).expect(200);
    const done = await readSse(`${h.url}${run.links.events}`);
    expect(done.events.at(-1)!.type).toBe('run.succeeded');
    const final = (await request(h.url).get(`/v1/runs/${run.id}`).expect(200)).body.run;
    expect(final.progress).toMatchObject({ total: 20, done: 20, failed: 0, records: 40 });
    const keys = (await request(h.url).get(`/v1/datasets/${run.output.dataset_id}/records?limit=1000`).expect(200)).body.records.map((r: any) => r.key);
    expect(new Set(keys).size).toBe(40);
  });

  it('Idempotency-Key returns the same run for a repeated request and refuses a different body', async () => {
    const body = { documents: [markdownDoc('idem.md', 2)], n_pairs: 1 };
    const a = await request(h.url).post('/v1/generate').set('Idempotency-Key', 'build-42').send(body).expect(202);
    const b = await request(h.url).post('/v1/generate').set('Idempotency-Key', 'build-42').send(body).expect(202);
    expect(b.body.run.id).toBe(a.body.run.id);
    const conflict = await request(h.url).post('/v1/generate').set('Idempotency-Key', 'build-42').send({ ...body, n_pairs: 2 }).expect(409);
    expect(conflict.body.error.details[0].field).toBe('Idempotency-Key');
    const runs = (await request(h.url).get('/v1/runs?limit=200').expect(200)).body.runs.filter((r: any) => r.spec.documents[0].name === 'idem.md');
    expect(runs).toHaveLength(1);
  });

  it('Prefer: wait answers 202 with the running run when the wait runs out first', async () => {
    h.fake.configure({ latencyMs: 1500 });
    const started = Date.now();
    const res = await request(h.url).post('/v1/generate').set('Prefer', 'wait=1').send({ documents: [markdownDoc('wait.md', 1)], n_pairs: 1 }).expect(202);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(res.body.run.status).toMatch(/queued|running/);
    const done = await readSse(`${h.url}${res.body.run.links.events}`);
    expect(done.events.at(-1)!.type).toBe('run.succeeded');
  });

  it('GET /v1/runs/{id} with Prefer: wait answers once the run ends (wait=0 answers at once)', async () => {
    h.fake.configure({ latencyMs: 700 });
    const run = (await request(h.url).post('/v1/generate').send({ documents: [markdownDoc('get-wait.md', 2)], n_pairs: 1 }).expect(202)).body.run;
    const early = Date.now();
    const cut = await request(h.url).get(`/v1/runs/${run.id}`).set('Prefer', 'wait=0').expect(200);
    expect(cut.body.run.status).toMatch(/queued|running/);
    expect(Date.now() - early).toBeLessThan(500);
    const started = Date.now();
    const ended = await request(h.url).get(`/v1/runs/${run.id}`).set('Prefer', 'wait=20').expect(200);
    expect(ended.headers['preference-applied']).toBe('wait=20');
    expect(ended.body.run).toMatchObject({ status: 'succeeded', progress: { done: ended.body.run.progress.total } });
    // It answered when the run ended (two calls of 700 ms at most in flight), not at the deadline.
    expect(Date.now() - started).toBeLessThan(10_000);
    h.fake.configure({ latencyMs: 0 });
  });

  it('lists runs newest first with a cursor', async () => {
    const all = (await request(h.url).get('/v1/runs?limit=200').expect(200)).body.runs;
    expect(all.length).toBeGreaterThanOrEqual(4);
    const first = (await request(h.url).get('/v1/runs?limit=2').expect(200)).body;
    expect(first.runs.map((r: any) => r.id)).toEqual(all.slice(0, 2).map((r: any) => r.id));
    const second = (await request(h.url).get(`/v1/runs?limit=2&before=${encodeURIComponent(first.next_before)}`).expect(200)).body;
    expect(second.runs.map((r: any) => r.id)).toEqual(all.slice(2, 4).map((r: any) => r.id));
    const succeeded = (await request(h.url).get('/v1/runs?status=succeeded').expect(200)).body.runs;
    expect(succeeded.every((r: any) => r.status === 'succeeded')).toBe(true);
  });
});
