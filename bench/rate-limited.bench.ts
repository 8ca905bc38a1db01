// Provider rate limits (issue 13): one generate run of --calls teacher calls against the fake teacher
// allowing --rps requests a second, once with the limit configured (`rpm` in PROVIDERS_FILE) and once
// with nothing configured (learned from the x-ratelimit-* headers), printing per case the achieved
// rate at the teacher / the allowed rate and the 429s it answered. Targets: configured ≥ 0.95 with 0
// 429s, learned ≥ 0.85. The fake teacher runs in its own process, so it admits requests when they
// arrive (a service stalled on its own event loop would otherwise stall the teacher's clock too);
// the service and its worker run here, on PGlite or on the empty database --database-url names.
// The fake keeps its last 1,000 requests, which the rate is measured from: at most 900 calls.
//
//   npm run bench -- --case rate-limited [--rps 20] [--calls 400] [--latency 20] [--concurrency 16] [--database-url postgres://…]
// Exit code: 0 PASS, 1 BELOW TARGET, 2 broken.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { loadConfig } from '../src/config.js';
import type { RecordedRequest } from '../src/fake-llm/server.js';
import { createQuarry } from '../src/quarry.js';
import { startFake, stopChild } from './procs.js';

const str = { type: 'string' } as const;
const { values: flags } = parseArgs({ options: { rps: str, calls: str, latency: str, concurrency: str, 'database-url': str } });
const rps = Number(flags.rps ?? 20);
const calls = Number(flags.calls ?? 400);
const latencyMs = Number(flags.latency ?? 20);
const concurrency = Number(flags.concurrency ?? 16);
if (!(rps > 0) || !Number.isInteger(calls) || calls < 10 || calls > 900 || !(latencyMs >= 0) || !Number.isInteger(concurrency) || concurrency < 1) {
  console.error('--rps > 0, --calls 10 to 900, --latency ≥ 0, --concurrency ≥ 1');
  process.exit(2);
}
const TARGETS = { configured: 0.95, learned: 0.85 } as const;

const fake = await startFake(latencyMs);
const control = async (path: string, body?: unknown) => {
  const res = await fetch(`${fake.url}/_fake/${path}`, body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return res.json();
};
const dir = mkdtempSync(join(tmpdir(), 'quarry-bench-rate-'));
const providersFile = join(dir, 'providers.yaml');
const entry = (name: string, extra: string[]) => [`  ${name}:`, '    kind: openai', `    base_url: ${fake.url}/v1`, '    model: gpt-4o-mini', `    max_concurrency: ${concurrency}`, ...extra];
writeFileSync(providersFile, ['providers:', ...entry('configured', [`    rpm: ${Math.round(rps * 60)}`]), ...entry('learned', [])].join('\n'));
const config = loadConfig({
  DATA_DIR: 'memory://',
  ...(flags['database-url'] ? { DATABASE_URL: flags['database-url'] } : {}),
  PROVIDERS_FILE: providersFile,
  DEFAULT_PROVIDER: 'configured',
  WORKER_CONCURRENCY: String(concurrency),
  RATE_LIMIT_PER_MINUTE: '0',
  LOG_LEVEL: 'warn',
});
const quarry = await createQuarry(config, { log: pino({ level: 'warn' }) });
await quarry.start();
const url = await quarry.app!.listen({ port: 0, host: '127.0.0.1' });

/** One section per call: one chunk, one teacher call with n_pairs 1. */
const doc = (tag: string) => ({
  name: `${tag}.md`,
  text: Array.from({ length: calls }, (_, i) => `## ${tag} ${i}\n\n` + Array.from({ length: 40 }, (_, w) => `${tag}${i}_${w}`).join(' ') + '.\n').join('\n'),
});

async function runCase(provider: 'configured' | 'learned') {
  await control('reset', {});
  await control('config', { rate: { rps } });
  const started = await fetch(`${url}/v1/generate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ documents: [doc(`${provider}${Date.now()}`)], n_pairs: 1, llm: { provider, cache: 'off' } }) });
  const { run } = (await started.json()) as { run: { id: string } };
  let status = 'queued';
  for (;;) {
    await sleep(250);
    status = ((await (await fetch(`${url}/v1/runs/${run.id}`)).json()) as { run: { status: string } }).run.status;
    if (!['queued', 'running'].includes(status)) break;
  }
  const recorded = (await (await fetch(`${fake.url}/_fake/requests`)).json()) as RecordedRequest[];
  if (process.env.BENCH_RATE_DEBUG) {
    const t0 = recorded[0]?.at ?? 0;
    for (const [i, r] of recorded.entries()) if (r.response === undefined) console.log('429 at', r.at - t0, 'ms; arrivals in the second before:', recorded.filter((q) => q.at > r.at - 1000 && q.at <= r.at).length, 'index', i);
  }
  const answered = recorded.filter((r) => r.path === '/v1/chat/completions' && r.response !== undefined).map((r) => r.at).sort((a, b) => a - b);
  const achieved = (answered.length - 1) / ((answered.at(-1)! - answered[0]) / 1000);
  const ratio = achieved / rps;
  const limited = ((await control('stats')) as { rateLimited: number }).rateLimited;
  const pass = status === 'succeeded' && ratio >= TARGETS[provider] && (provider === 'learned' || limited === 0);
  console.log(
    `${provider.padEnd(10)} run ${status}, ${answered.length} calls, achieved ${achieved.toFixed(2)}/s of ${rps}/s = ${ratio.toFixed(3)} (target ≥ ${TARGETS[provider]}), 429s: ${limited}  ${pass ? 'PASS' : 'BELOW TARGET'}`,
  );
  return pass;
}

let code = 0;
try {
  console.log(`rate-limited: ${calls} calls per case, teacher allows ${rps} requests/s, latency ${latencyMs} ms, concurrency ${concurrency}, ${quarry.database.kind}`);
  for (const provider of ['configured', 'learned'] as const) if (!(await runCase(provider))) code = 1;
} catch (err) {
  console.error(err);
  code = 2;
} finally {
  await quarry.stop(0);
  await stopChild(fake.child, () => fake.child.kill('SIGTERM'), 5000);
}
process.exit(code);
