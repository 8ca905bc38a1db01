import net from 'node:net';
import request from 'supertest';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from './support/databases.js';
import { markdownDoc, startHarness, type Harness } from './support/harness.js';
import { drivenRun } from './support/run-driver.js';

/**
 * Issue 8, item 8: Node's HTTP timeouts cut clients that take too long to *send* a request, never a
 * response that streams for long (SSE, WebSocket, `Prefer: wait`); closing stops taking
 * connections, ends streams, and lets requests in flight finish.
 */

// Deadlines far below the defaults, and keep-alive comments far more often, so a stream outlives
// every deadline many times over within a short test.
const SHORT = { HTTP_HEADERS_TIMEOUT_MS: '200', HTTP_REQUEST_TIMEOUT_MS: '400', HTTP_KEEP_ALIVE_TIMEOUT_MS: '300', SSE_KEEPALIVE_MS: '20', WORKER_CONCURRENCY: '0' };
/** Keep-alive comments a stream must have received: 60 × 20 ms is more than every deadline above plus Node's checking interval. */
const OUTLIVED = 60;

const port = (h: Harness) => Number(new URL(h.url).port);

/** Sends `head`, then one byte of `trickle` every few milliseconds, until the server closes the socket. */
function slowClient(h: Harness, head: string, trickle: string) {
  return new Promise<{ sent: number; answer: string }>((resolve) => {
    const socket = net.connect(port(h), '127.0.0.1');
    let sent = 0;
    let answer = '';
    let timer: NodeJS.Timeout | undefined;
    socket.on('connect', () => {
      socket.write(head);
      timer = setInterval(() => {
        if (sent < trickle.length && socket.writable) socket.write(trickle[sent++]);
      }, 5);
    });
    socket.on('data', (d) => (answer += d.toString('utf8')));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearInterval(timer);
      resolve({ sent, answer });
    });
  });
}

/** Reads an SSE stream, calling `onComment` with the number of keep-alives so far; resolves with what arrived once it ends. */
async function watchSse(url: string, onComment: (count: number) => void) {
  const res = await fetch(url);
  let text = '';
  let comments = 0;
  const decoder = new TextDecoder();
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    text += decoder.decode(chunk, { stream: true });
    const now = text.split('\n').filter((l) => l === ': keep-alive').length;
    if (now > comments) onComment((comments = now));
  }
  return { comments, events: [...text.matchAll(/^event: (.+)$/gm)].map((m) => m[1]) };
}

function watchWs(url: string, onEvent: (type: string) => void = () => {}) {
  return new Promise<{ events: string[]; code: number }>((resolve, reject) => {
    const ws = new WebSocket(url);
    const events: string[] = [];
    ws.on('message', (data) => {
      events.push(JSON.parse(String(data)).type);
      onEvent(events[events.length - 1]);
    });
    ws.on('close', (code) => resolve({ events, code }));
    ws.on('error', reject);
  });
}

/** The newest run of the harness, once there are `n` runs (a `Prefer: wait` request answers only at the end). */
async function nthRun(h: Harness, n: number) {
  for (;;) {
    const runs = (await request(h.url).get('/v1/runs').expect(200)).body.runs;
    if (runs.length >= n) return runs[0];
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Resolves once a new TCP connection to the service is refused. */
async function refusesConnections(h: Harness) {
  for (;;) {
    const refused = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port(h), '127.0.0.1');
      socket.on('connect', () => (socket.destroy(), resolve(false)));
      socket.on('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
    });
    if (refused) return;
  }
}

describe.each(DATABASES)('HTTP timeouts (%s)', (db) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ db, env: SHORT });
  });
  afterAll(() => h?.close());

  it('cuts a slow-loris client that sends its headers byte by byte, with a 408 in the error shape', async () => {
    const trickle = `X-Slow: ${'a'.repeat(5000)}\r\n\r\n`;
    const { sent, answer } = await slowClient(h, 'GET /healthz HTTP/1.1\r\nHost: x\r\n', trickle);
    expect(sent).toBeLessThan(trickle.length);
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)).error).toMatchObject({ code: 'request_timeout' });
  });

  it('cuts a client that sends its body byte by byte', async () => {
    const body = JSON.stringify({ documents: [markdownDoc('slow.md', 1)], pad: 'x'.repeat(5000) });
    const head = `POST /v1/generate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`;
    const { sent, answer } = await slowClient(h, head, body);
    expect(sent).toBeLessThan(body.length);
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('keeps SSE and WebSocket streams open past every deadline, and ends them with the run', async () => {
    const driver = await drivenRun(h);
    const ws = watchWs(driver.ws);
    const sse = await watchSse(driver.sse, (count) => {
      if (count === OUTLIVED) void driver.start().then(() => driver.succeed());
    });
    expect(sse.comments).toBeGreaterThanOrEqual(OUTLIVED);
    expect(sse.events).toEqual(['run.queued', 'run.started', 'run.succeeded']);
    expect(await ws).toEqual({ events: ['run.queued', 'run.started', 'run.succeeded'], code: 1000 });
  });

  it('holds a Prefer: wait request past the request deadline until its run ends', async () => {
    const before = (await request(h.url).get('/v1/runs').expect(200)).body.runs.length;
    const waiting = request(h.url).post('/v1/generate').set('Prefer', 'wait=60').send({ documents: [markdownDoc('wait.md', 1)], n_pairs: 1 });
    const pending = waiting.then((r) => r);
    const run = await nthRun(h, before + 1);
    const driver = await drivenRun(h, run);
    await watchSse(driver.sse, (count) => {
      if (count === OUTLIVED) void driver.start().then(() => driver.succeed());
    });
    const res = await pending;
    expect(res.status).toBe(200);
    expect(res.body.run).toMatchObject({ id: run.id, status: 'succeeded' });
  });
});

describe.each(DATABASES)('closing gracefully (%s)', (db) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ db, env: { WORKER_CONCURRENCY: '0', SSE_KEEPALIVE_MS: '20' } });
  });
  afterAll(() => h?.close());

  it('refuses new connections and ends streams at once, and lets a request in flight finish', async () => {
    const stream = await drivenRun(h);
    let sseOpen!: () => void;
    let wsOpen!: () => void;
    const opened = Promise.all([new Promise<void>((r) => (sseOpen = r)), new Promise<void>((r) => (wsOpen = r))]);
    const sseDone = watchSse(stream.sse, () => sseOpen());
    const wsDone = watchWs(stream.ws, () => wsOpen());
    const waiting = request(h.url).post('/v1/generate').set('Prefer', 'wait=60').send({ documents: [markdownDoc('inflight.md', 1)], n_pairs: 1 });
    const pending = waiting.then((r) => r);
    const inFlight = await drivenRun(h, await nthRun(h, 2));
    await opened;

    const closing = h.quarry.app!.closeGracefully(60_000);
    const sse = await sseDone;
    expect(sse.events).toEqual(['run.queued']);
    expect((await wsDone).code).not.toBe(1006);
    await refusesConnections(h);

    // The run the request waits for ends during the close; the request is answered, then the close completes.
    await inFlight.start();
    await inFlight.succeed();
    const res = await pending;
    expect(res.status).toBe(200);
    expect(res.body.run).toMatchObject({ status: 'succeeded' });
    await closing;
  });
});
