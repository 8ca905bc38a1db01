import type { QuarryClient } from './client.js';
import { apiError } from './exit-codes.js';
import { watchFailures } from './failures.js';
import { TERMINAL, progressBar, runLine, stageLine, stagesOf, type Run } from './progress.js';

export interface FollowOptions {
  /** A terminal: redraw the lines in place; otherwise print plain lines for CI logs. */
  tty: boolean;
  /** Non-TTY: print at least this often (and on every status or stage change). */
  printEveryMs: number;
  /** How often the run is read. */
  pollMs: number;
  write(text: string): void;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Reads the run (and a pipeline's stages) until it ends. Progress comes from polling GET /v1/runs/{id}:
 * its progress object already carries rate, ETA and cost, and a poll survives API restarts with no
 * reconnect logic; failure categories come from the event stream beside it (failures.ts).
 */
export async function followRun(client: QuarryClient, id: string, options: FollowOptions): Promise<Run> {
  let lastPrint = 0;
  let lastKey = '';
  let drawn = 0;
  const failures = watchFailures(client, id);
  try {
    return await poll();
  } finally {
    await failures.finish(0);
  }

  async function poll(): Promise<Run> {
    for (;;) {
      const { data, error, response } = await client.GET('/v1/runs/{id}', { params: { path: { id } } });
      if (!data) throw apiError(response.status, error);
      const run = data.run;
      const done = TERMINAL.has(run.status);
      // The stream ends just after the terminal event: wait for it so the last line counts every failure.
      if (done) await failures.finish(3000);
      // A pipeline's report lists its stage runs, so its stages come with the same read.
      const stages = stagesOf(run.output.report);
      const lines = [runLine(run, failures.counts), ...stages.map(stageLine)];
      const key = [run.status, ...stages.map((s) => `${s.stage}:${s.status}`)].join(',');
      if (options.tty) {
        // Move up over the previous block and clear it, so each run and stage keeps one line.
        const up = drawn > 1 ? `\x1b[${drawn - 1}A` : '';
        const bars = [`${progressBar(run)} ${lines[0]}`, ...lines.slice(1)];
        options.write(`${up}\r${bars.map((l) => `\x1b[2K${l}`).join('\n')}${done ? '\n' : ''}`);
        drawn = lines.length;
      } else if (done || key !== lastKey || Date.now() - lastPrint >= options.printEveryMs) {
        options.write(`${new Date().toISOString()} ${lines.join('\n')}\n`);
        lastPrint = Date.now();
      }
      lastKey = key;
      if (done) return run;
      await sleep(options.pollMs);
    }
  }
}
