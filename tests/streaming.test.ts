import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { markdownDoc, startHarness, type Harness } from './support/harness.js';
import { readSse, readWs } from './support/streams.js';

describe('event streams: replay after reconnect, keep-alive, end of stream', () => {
  let h: Harness;
  let run: any;
  let full: Awaited<ReturnType<typeof readSse>>;
  beforeAll(async () => {
    h = await startHarness({ db: 'pglite', fake: { latencyMs: 2 }, env: { SSE_KEEPALIVE_MS: '50' } });
    run = (await request(h.url).post('/v1/generate').set('Prefer', 'wait=20').send({ documents: [markdownDoc('r.md', 6)], n_pairs: 2 }).expect(200)).body.run;
    full = await readSse(`${h.url}${run.links.events}`);
  });
  afterAll(() => h?.close());

  it('SSE replays exactly what was missed after Last-Event-ID or ?after=', async () => {
    expect(full.events.length).toBeGreaterThan(14);
    const first = await readSse(`${h.url}${run.links.events}`, {}, { stopAfter: 5 });
    expect(first.events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    const rest = await readSse(`${h.url}${run.links.events}`, { 'Last-Event-ID': '5' });
    expect([...first.events, ...rest.events].map((e) => e.id)).toEqual(full.events.map((e) => e.id));
    const viaQuery = await readSse(`${h.url}${run.links.events}?after=5`);
    expect(viaQuery.events.map((e) => e.seq)).toEqual(rest.events.map((e) => e.seq));
    expect(rest.events.at(-1)!.type).toBe('run.succeeded');
  });

  it('WebSocket replays the same events after ?after= and after a Last-Event-ID header', async () => {
    const ws = `${h.url.replace('http', 'ws')}${run.links.ws}`;
    const first = await readWs(ws, { stopAfter: 3 });
    expect(first.events.map((e) => e.seq)).toEqual([1, 2, 3]);
    const rest = await readWs(`${ws}?after=3`);
    expect(rest.code).toBe(1000);
    expect([...first.events, ...rest.events].map((e) => e.seq)).toEqual(full.events.map((e) => Number(e.id)));
    const viaHeader = await readWs(ws, { headers: { 'Last-Event-ID': '3' } });
    expect(viaHeader.events.map((e) => e.seq)).toEqual(rest.events.map((e) => e.seq));
  });

  it('answers a plain HTTP GET on the WebSocket route with 426, and an unknown run with close code 4404', async () => {
    const res = await request(h.url).get(run.links.ws).expect(426);
    expect(res.body.error.code).toBe('upgrade_required');
    const unknown = await readWs(`${h.url.replace('http', 'ws')}/v1/runs/run_000000000000000000000000/ws`);
    expect(unknown.code).toBe(4404);
    expect(unknown.events[0]).toMatchObject({ error: { code: 'not_found' } });
  });

  it('a stream of an ended run that the client has fully seen ends at once', async () => {
    const last = full.events.at(-1)!.id;
    const res = await readSse(`${h.url}${run.links.events}`, { 'Last-Event-ID': last });
    expect(res.status).toBe(200);
    expect(res.events).toEqual([]);
  });

  it('sends keep-alive comments while a run is quiet', async () => {
    h.fake.configure({ latencyMs: 400 });
    const slow = (await request(h.url).post('/v1/generate').send({ documents: [markdownDoc('q.md', 1)], n_pairs: 1 }).expect(202)).body.run;
    const res = await readSse(`${h.url}${slow.links.events}`);
    expect(res.comments.filter((c) => c === 'keep-alive').length).toBeGreaterThanOrEqual(2);
    expect(res.events.at(-1)!.type).toBe('run.succeeded');
    h.fake.configure({ latencyMs: 2 });
  });

  it('streams a live run to several clients at once, each seeing every record', async () => {
    h.fake.configure({ latencyMs: 30 });
    const live = (await request(h.url).post('/v1/generate').send({ documents: [markdownDoc('live.md', 10)], n_pairs: 1 }).expect(202)).body.run;
    const [a, b, c] = await Promise.all([
      readSse(`${h.url}${live.links.events}`),
      readSse(`${h.url}${live.links.events}`),
      readWs(`${h.url.replace('http', 'ws')}${live.links.ws}`),
    ]);
    for (const events of [a.events, b.events, c.events]) {
      expect(events.filter((e) => e.type === 'record.created')).toHaveLength(10);
      expect(events.at(-1)!.type).toBe('run.succeeded');
    }
    h.fake.configure({ latencyMs: 2 });
  });
});
