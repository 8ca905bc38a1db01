import { once } from 'node:events';
import * as net from 'node:net';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { markdownDoc, startHarness, type Harness } from './support/harness.js';
import { drivenRun } from './support/run-driver.js';
import { readSse, readWs } from './support/streams.js';

/** MAX_STREAMS_PER_KEY bounds what one key's watchers hold open (each may buffer up to 1 MiB). */
describe('event streams per key', () => {
  let h: Harness;
  const A = { Authorization: 'Bearer key-a' };
  const B = { Authorization: 'Bearer key-b' };
  beforeAll(async () => {
    h = await startHarness({ db: 'pglite', fake: { latencyMs: 600 }, env: { API_KEYS: 'key-a,key-b', MAX_STREAMS_PER_KEY: '2' } });
  });
  afterAll(() => h?.close());

  const start = async (auth: Record<string, string>) =>
    (await request(h.url).post('/v1/generate').set(auth).send({ documents: [markdownDoc('s.md', 2)], n_pairs: 1 }).expect(202)).body.run;

  it('refuses a key its third open stream with 429 (SSE) or close 4429 (WebSocket), frees the slot when a stream ends, and leaves other keys alone', async () => {
    const run = await start(A);
    const url = `${h.url}${run.links.events}`;
    let seen = 0;
    let bothOpen!: () => void;
    const opened = new Promise<void>((resolve) => (bothOpen = resolve));
    const onEvent = () => ++seen === 2 && bothOpen();
    const [first, second] = [readSse(url, A, { onEvent: (e) => e.seq === 1 && onEvent() }), readSse(url, A, { onEvent: (e) => e.seq === 1 && onEvent() })];
    await opened;

    const third = await readSse(url, A);
    expect(third.status).toBe(429);
    expect(JSON.parse((third as { body: string }).body).error).toMatchObject({ code: 'rate_limited', details: [{ field: 'Authorization' }] });
    const ws = await readWs(`${h.url.replace('http', 'ws')}${run.links.ws}`, { headers: A });
    expect(ws.code).toBe(4429);
    expect(ws.events[0]).toMatchObject({ error: { code: 'rate_limited' } });

    // Another key's watchers have slots of their own.
    const other = await start(B);
    const theirs = await readSse(`${h.url}${other.links.events}`, B);
    expect(theirs.status).toBe(200);
    expect(theirs.events.at(-1)!.type).toBe('run.succeeded');

    // Both streams end with the run; their slots are free again.
    const ended = await Promise.all([first, second]);
    for (const s of ended) expect(s.events.at(-1)!.type).toBe('run.succeeded');
    const again = await readSse(url, A);
    expect(again.status).toBe(200);
    expect(again.events.map((e) => e.seq)).toEqual(ended[0].events.map((e) => e.seq));
  });
});

/** STREAM_STALL_TIMEOUT_MS: a full client that takes nothing is cut even when no new event comes. */
describe('a stalled replay of an ended run', () => {
  let h: Harness;
  const serverSockets = new Map<number, net.Socket>();
  beforeAll(async () => {
    h = await startHarness({ db: 'pglite', env: { WORKER_CONCURRENCY: '0', MAX_STREAMS_PER_KEY: '1', STREAM_STALL_TIMEOUT_MS: '300' } });
    h.quarry.app!.server.on('connection', (s: net.Socket) => serverSockets.set(s.remotePort!, s));
  });
  afterAll(() => h?.close());

  it('is disconnected after the stall timeout, and its slot is free again', async () => {
    const d = await drivenRun(h);
    await d.start();
    for (let i = 0; i < 60; i++) await d.records(20, 4096); // ~5 MB, far past the 1 MiB bound and kernel buffers
    await d.succeed();

    // Reads the response head, then never reads again: it stalls with the run's events unsent.
    const url = new URL(d.sse);
    const client = net.connect(Number(url.port), url.hostname);
    client.write(`GET ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nAccept: text/event-stream\r\n\r\n`);
    await once(client, 'data');
    client.pause();
    const server = serverSockets.get(client.localPort!)!;
    expect(server).toBeDefined();
    // No event will come to show it is behind: only the stall timeout can end it.
    if (!server.destroyed) await once(server, 'close');
    expect(server.bytesWritten).toBeLessThan(d.bytes);

    const next = await readSse(d.sse);
    expect(next.status).toBe(200);
    expect(next.events.at(-1)!.type).toBe('run.succeeded');
    client.destroy();
  }, 60_000);
});
