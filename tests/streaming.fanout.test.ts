import { once } from 'node:events';
import net from 'node:net';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { SLOW_CLIENT_MAX_UNSENT_BYTES } from '../services/runs/run-stream.js';
import { DATABASES } from './support/databases.js';
import { markdownDoc, startHarness, type Harness } from './support/harness.js';
import { drivenRun } from './support/run-driver.js';
import { readSse, readWs, type WireEvent } from './support/streams.js';

interface Seen {
  name: string;
  seqs: number[];
  last?: string;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

/** One SSE or WebSocket watcher; with `dropAfter`, it hangs up after that many events and reconnects with Last-Event-ID (or ?after=). */
async function watch(kind: 'sse' | 'ws', urls: { sse: string; ws: string }, i: number, dropAfter?: number): Promise<Seen> {
  const read = (cursor?: number, stopAfter?: number): Promise<WireEvent[]> => {
    if (kind === 'sse') return readSse(urls.sse, cursor === undefined ? {} : { 'Last-Event-ID': String(cursor) }, { stopAfter }).then((r) => r.events);
    if (cursor === undefined) return readWs(urls.ws, { stopAfter }).then((r) => r.events);
    return (i % 2 ? readWs(`${urls.ws}?after=${cursor}`) : readWs(urls.ws, { headers: { 'Last-Event-ID': String(cursor) } })).then((r) => r.events);
  };
  const first = await read(undefined, dropAfter);
  const rest = dropAfter && first.length > 0 ? await read(first.at(-1)!.seq) : [];
  const all = [...first, ...rest];
  return { name: `${kind}#${i}${dropAfter ? ` (reconnected after ${dropAfter})` : ''}`, seqs: all.map((e) => e.seq), last: all.at(-1)?.type };
}

/** Tracks how far a reader got, so a test can wait for it to reach a seq. */
function follow() {
  let seq = 0;
  let wake: (() => void) | undefined;
  return {
    saw(e: WireEvent) {
      seq = e.seq;
      wake?.();
    },
    async reached(target: number) {
      while (seq < target) await new Promise<void>((resolve) => (wake = resolve));
    },
  };
}

/** Clients whose events are not exactly 1..n ending in the terminal event, described briefly. */
function gaps(seen: Seen[], n: number): string[] {
  const want = range(n).join(',');
  return seen
    .filter((s) => s.seqs.join(',') !== want || s.last !== 'run.succeeded')
    .map((s) => `${s.name}: ${s.seqs.length} events, first ${s.seqs[0]}, last ${s.seqs.at(-1)} (${s.last})`);
}

describe.each(DATABASES)('event fan-out on %s', (db) => {
  let h: Harness;
  /** Server-side sockets by the client's port, to see the server hang up on a client. */
  const serverSockets = new Map<number, net.Socket>();
  beforeAll(async () => {
    // No worker: the tests commit each run's events themselves, so clients join between known batches.
    h = await startHarness({ db, env: { WORKER_CONCURRENCY: '0' } });
    h.quarry.app!.server.on('connection', (s: net.Socket) => serverSockets.set(s.remotePort!, s));
  });
  afterAll(() => h?.close());

  it('240 SSE and WebSocket clients joining throughout a run, a third reconnecting mid-stream, each get every event once and in order', async () => {
    const d = await drivenRun(h);
    const clients = 240;
    const batches = 100;
    // A head-of-stream watcher paces the run, so joins spread over the whole run however slow the machine is.
    const observer = follow();
    const observed = readSse(d.sse, {}, { onEvent: observer.saw });
    const watchers: Array<Promise<Seen>> = [];
    const join = () => {
      const i = watchers.length;
      watchers.push(watch(i % 2 ? 'ws' : 'sse', d, i, i % 3 === 0 ? 1 + ((i * 37) % 150) : undefined));
    };
    await d.start();
    for (let b = 0; b < batches; b++) {
      await d.records(1 + (b % 5));
      // Joining right after a commit, while the hub is reading that batch for the clients at the head.
      while (watchers.length < Math.round(((b + 1) * clients) / batches)) join();
      if (b % 8 === 7) await observer.reached(d.seq);
    }
    await d.succeed();
    const { events } = await observed;
    const seen = [...(await Promise.all(watchers)), { name: 'observer', seqs: events.map((e) => e.seq), last: events.at(-1)?.type }];
    expect(d.seq).toBeGreaterThan(250);
    expect(seen.length).toBeGreaterThan(200);
    expect(gaps(seen, d.seq)).toEqual([]);
  }, 60_000);

  it('a cursor past the newest event still ends the stream when the run ends, over SSE and WebSocket', async () => {
    const d = await drivenRun(h);
    await d.start();
    const got = { sse: [] as WireEvent[], ws: [] as WireEvent[] };
    const sse = readSse(d.sse, { 'Last-Event-ID': '999999999' }, { onEvent: (e) => got.sse.push(e) });
    const wsHeader = new WebSocket(d.ws, { headers: { 'Last-Event-ID': '999999999' } });
    wsHeader.on('message', (m) => got.ws.push(JSON.parse(String(m))));
    const wsQuery = readWs(`${d.ws}?after=999999999`);
    const wsClosed = once(wsHeader, 'close');
    // Commit until both live clients have an event, so both subscribed while the run was running.
    for (let i = 0; got.sse.length === 0 || got.ws.length === 0; i++) {
      if (i > 500) throw new Error('the clients never received a live event');
      await d.records(1);
    }
    await d.succeed();
    const [sseEvents, [code], query] = await Promise.all([sse.then((r) => r.events), wsClosed, wsQuery]);
    for (const events of [sseEvents, got.ws]) {
      expect(events.at(-1)!.type).toBe('run.succeeded');
      expect(events.map((e) => e.seq)).toEqual(range(d.seq).slice(d.seq - events.length));
    }
    expect(code).toBe(1000);
    expect(query.code).toBe(1000);
  });

  it('a client that stops reading is disconnected once its bounded buffer is full, and nothing is held for it', async () => {
    const d = await drivenRun(h);
    await d.start();
    const readers = [follow(), follow()];
    const healthy = [readSse(d.sse, {}, { onEvent: readers[0].saw }), readWs(d.ws, { onEvent: readers[1].saw })];

    // SSE over a raw socket that reads the response head and then never reads again.
    const url = new URL(d.sse);
    const sse = net.connect(Number(url.port), url.hostname);
    sse.write(`GET ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nAccept: text/event-stream\r\n\r\n`);
    await once(sse, 'data');
    sse.pause();
    // A WebSocket client that stops reading after the upgrade.
    const ws = new WebSocket(d.ws);
    const [[upgrade]] = (await Promise.all([once(ws, 'upgrade'), once(ws, 'open')])) as [[{ socket: net.Socket }], unknown];
    ws.pause();

    const stalled = [serverSockets.get(sse.localPort!)!, serverSockets.get(upgrade.socket.localPort!)!];
    expect(stalled.every(Boolean)).toBe(true);
    let dropped = 0;
    for (const s of stalled) s.once('close', () => dropped++);
    let peak = 0;
    const cap = 40 * 1024 * 1024;
    for (let b = 1; dropped < stalled.length && d.bytes < cap; b++) {
      await d.records(20, 4096);
      peak = Math.max(peak, ...stalled.map((s) => (s.destroyed ? 0 : s.writableLength)));
      // Keep the reading clients well within the bound, however busy the machine.
      if (b % 4 === 0) for (const r of readers) await r.reached(d.seq);
    }
    expect(dropped).toBe(stalled.length);
    // What the process held for each stalled client never went past the bound and one event.
    expect(peak).toBeLessThanOrEqual(SLOW_CLIENT_MAX_UNSENT_BYTES + 16 * 1024);
    expect(Math.max(...stalled.map((s) => s.bytesWritten))).toBeLessThan(d.bytes);

    await d.succeed();
    for (const client of await Promise.all(healthy)) {
      expect(client.events.map((e) => e.seq)).toEqual(range(d.seq));
    }
    // A reader replaying all of it (many times the bound) is paced by its socket, not dropped.
    const replay = await readSse(d.sse);
    expect(replay.events.map((e) => e.seq)).toEqual(range(d.seq));
    sse.destroy();
    ws.terminate();
  }, 60_000);

  it('Prefer: wait still returns when the run ends, alongside its streams', async () => {
    const body = { documents: [markdownDoc('wait.md', 1)], n_pairs: 1 };
    const waiting = request(h.url).post('/v1/generate').set('Prefer', 'wait=60').set('Idempotency-Key', `wait-${db}`).send(body).then((r) => r);
    const run = (await request(h.url).post('/v1/generate').set('Idempotency-Key', `wait-${db}`).send(body)).body.run;
    const d = await drivenRun(h, run);
    const stream = readSse(d.sse);
    await d.start();
    await d.records(5);
    await d.succeed();
    const res = await waiting;
    expect(res.status).toBe(200);
    expect(res.body.run).toMatchObject({ id: run.id, status: 'succeeded' });
    expect((await stream).events.map((e) => e.seq)).toEqual(range(d.seq));
  });
});
