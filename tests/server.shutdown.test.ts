import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { markdownDoc } from './support/harness.js';

/**
 * `npm start` (src/server.ts) as a process: SIGTERM stops it taking connections while the request
 * it is reading completes, then it exits 0 (close-with-grace). The request is held open by the
 * test itself — its body arrives in two halves, SIGTERM between them — so nothing depends on timing.
 */
function startServer() {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    env: { PATH: process.env.PATH, PORT: '0', DATA_DIR: 'memory://', WORKER_CONCURRENCY: '0', LOG_LEVEL: 'info', SHUTDOWN_GRACE_MS: '20000', RATE_LIMIT_PER_MINUTE: '0' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: Array<Record<string, unknown>> = [];
  const waiters: Array<{ match: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }> = [];
  createInterface({ input: child.stdout! }).on('line', (text) => {
    let line: Record<string, unknown>;
    try {
      line = JSON.parse(text);
    } catch {
      return;
    }
    lines.push(line);
    for (const w of waiters.splice(0)) (w.match(line) ? w.resolve(line) : waiters.push(w));
  });
  /** Resolves with the first log line (already written or still to come) that matches. */
  const logged = (match: (l: Record<string, unknown>) => boolean) =>
    new Promise<Record<string, unknown>>((resolve) => {
      const seen = lines.find(match);
      if (seen) resolve(seen);
      else waiters.push({ match, resolve });
    });
  return { child, lines, logged };
}

describe('the server process shuts down gracefully on SIGTERM', () => {
  let child: ChildProcess | undefined;
  afterAll(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
  });

  it('refuses new connections, finishes the request in flight, then exits 0', async () => {
    const server = startServer();
    child = server.child;
    const exited = once(server.child, 'exit');
    const listening = await server.logged((l) => typeof l.msg === 'string' && l.msg.startsWith('Server listening at http://127.0.0.1'));
    const port = Number(new URL(String(listening.msg).replace('Server listening at ', '')).port);

    const body = JSON.stringify({ documents: [markdownDoc('inflight.md', 1)], n_pairs: 1 });
    const socket = net.connect(port, '127.0.0.1');
    let answer = '';
    socket.on('data', (d) => (answer += d.toString('utf8')));
    const answered = once(socket, 'close');
    socket.write(`POST /v1/generate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`);
    socket.write(body.slice(0, 10));
    await server.logged((l) => l.msg === 'incoming request' && (l.req as { url?: string } | undefined)?.url === '/v1/generate');

    server.child.kill('SIGTERM');
    await server.logged((l) => l.msg === 'shutting down' && l.signal === 'SIGTERM');
    for (;;) {
      const refused = await new Promise<boolean>((resolve) => {
        const probe = net.connect(port, '127.0.0.1');
        probe.on('connect', () => (probe.destroy(), resolve(false)));
        probe.on('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
      });
      if (refused) break;
    }
    expect(server.child.exitCode).toBeNull();

    socket.write(body.slice(10));
    await answered;
    expect(answer).toMatch(/^HTTP\/1\.1 202 /);
    expect(answer.toLowerCase()).toContain('connection: close');
    const [code] = await exited;
    expect(code).toBe(0);
    expect(server.lines.some((l) => String(l.msg).includes('killed by timeout'))).toBe(false);
  }, 120_000);
});
