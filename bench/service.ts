// The service as src/server.ts runs it, but forked by the benchmark: it listens on port 0 and
// reports its URL and its own figures (event-loop lag, peak RSS, worker state) over IPC, which
// src/server.ts cannot do. Everything else comes from the same composition root.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { loadConfig } from '../src/config.js';
import { createQuarry } from '../src/quarry.js';

const send = (message: unknown) => process.send?.(message);
const RESOLUTION_MS = 10;
// The histogram records the whole gap between its timer's ticks, resolution included (an idle loop
// reads ~10.1 ms), so the resolution is taken off to report the lag itself.
const ms = (ns: number) => Math.max(0, Math.round((ns / 1e6 - RESOLUTION_MS) * 100) / 100);

const lag = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
lag.enable();

const quarry = await createQuarry(loadConfig(process.env));
await quarry.start();
const url = await quarry.app!.listen({ port: 0, host: '127.0.0.1' });

let stopping: Promise<void> | undefined;
function stop(): Promise<void> {
  // Whatever asks first (IPC, SIGTERM, the parent vanishing) wins; the rest wait for the same stop.
  stopping ??= quarry.stop(5_000).then(
    () => process.exit(0),
    (err) => {
      console.error('bench service: unclean stop', err);
      process.exit(1);
    },
  );
  return stopping;
}

process.on('message', (message) => {
  if (message === 'reset-lag') lag.reset();
  if (message === 'stats') {
    send({
      type: 'stats',
      lag: { p50: ms(lag.percentile(50)), p99: ms(lag.percentile(99)), max: ms(lag.max) },
      // ru_maxrss is in KiB on Linux; the parent prefers /proc VmHWM and keeps this as a fallback.
      maxRssBytes: process.resourceUsage().maxRSS * 1024,
      worker: quarry.worker?.stats(),
    });
  }
  if (message === 'stop') void stop();
});
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void stop());
process.once('disconnect', () => void stop());
send({ type: 'ready', url, pid: process.pid });
