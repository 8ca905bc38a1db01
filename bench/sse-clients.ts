// Many SSE clients of one run, cheap enough that a few hundred fit beside the service on one
// machine: node:http, no JSON parsing, only each frame's `id:` (to check that every client gets
// every event once, in order) and a record.created's `"ts":` (its commit→client delay).
import { get } from 'node:http';

export interface CrowdStats {
  clients: number;
  /** Clients that saw every seq from 1 to the last, each once and in order, and the terminal event. */
  complete: number;
  /** Problems seen: a gap, a repeat, an error, a stream that ended early. */
  problems: string[];
  events: number;
  bytes: number;
  /** record.created received − data.ts, over every client (ms). */
  delays: number[];
}

const TERMINAL = /^event: run\.(succeeded|failed|canceled)$/m;

function watch(url: string, stats: CrowdStats, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    let expected = 1;
    let buffer = '';
    let ended = false;
    const fail = (problem: string) => {
      if (stats.problems.length < 20) stats.problems.push(problem);
    };
    const req = get(url, { headers: { accept: 'text/event-stream' }, signal }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        const at = Date.now();
        stats.bytes += chunk.length;
        buffer += chunk;
        let i: number;
        while ((i = buffer.indexOf('\n\n')) >= 0) {
          const frame = buffer.slice(0, i);
          buffer = buffer.slice(i + 2);
          const id = /^id: (\d+)$/m.exec(frame);
          if (!id) continue;
          const seq = Number(id[1]);
          if (seq !== expected) fail(`expected seq ${expected}, got ${seq}`);
          expected = seq + 1;
          stats.events++;
          if (frame.includes('event: record.created')) {
            const ts = /"ts":(\d+)/.exec(frame);
            if (ts) stats.delays.push(at - Number(ts[1]));
          }
          if (TERMINAL.test(frame)) ended = true;
        }
      });
      res.on('end', () => {
        if (ended) stats.complete++;
        else fail('a stream ended before the terminal event');
        resolve();
      });
      res.on('error', (err) => (fail(err.message), resolve()));
    });
    req.on('error', (err) => (fail(err.message), resolve()));
  });
}

/** Opens `n` SSE streams of the run; resolves once all have ended. */
export function crowd(url: string, n: number, signal: AbortSignal): { stats: CrowdStats; done: Promise<void> } {
  const stats: CrowdStats = { clients: n, complete: 0, problems: [], events: 0, bytes: 0, delays: [] };
  const done = Promise.all(Array.from({ length: n }, () => watch(url, stats, signal))).then(() => {});
  return { stats, done };
}
