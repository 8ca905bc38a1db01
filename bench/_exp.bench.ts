// Throughput benchmark: one big generate run against real Postgres and a fake teacher with a fixed
// latency. Three processes: the fake teacher (child), the service (child, bench/_exp-service.ts) and this
// one, which only plays the clients (one SSE reader, one API probe). The service runs alone in its
// process so that neither the fake's CPU nor the clients' JSON parsing sit on its event loop: event
// delay and probe latency then measure the service, and its peak RSS is its own.
//
//   npm run bench -- --concurrency 64 --latency 100 --chunks 2400 --pairs 1 [--timeout-s 600] [--cpu-prof]
//   (or BENCH_CONCURRENCY, BENCH_LATENCY, BENCH_CHUNKS, BENCH_PAIRS, BENCH_TIMEOUT_S; BENCH_DATABASE_URL)
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { loadConfig } from '../src/config.js';
import { loadProviders } from '../src/llm/providers.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TARGET = 0.9;

const str = { type: 'string' } as const;
const { values: flags } = parseArgs({
  options: { concurrency: str, latency: str, chunks: str, pairs: str, 'timeout-s': str, 'cpu-prof': { type: 'boolean' } },
});
function knob(name: 'concurrency' | 'latency' | 'chunks' | 'pairs' | 'timeout-s', fallback: number): number {
  const raw = flags[name] ?? process.env[`BENCH_${name.toUpperCase().replace('-', '_')}`];
  const n = raw === undefined ? fallback : Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer (got ${raw})`);
  return n;
}
const concurrency = knob('concurrency', 64);
const latencyMs = knob('latency', 100);
const chunks = knob('chunks', 2400);
const pairs = knob('pairs', 1);
const timeoutS = knob('timeout-s', 600);
const adminUrl = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

// One deadline for everything: startup, the run and the clients all abort on it (or on Ctrl-C).
const deadline = new AbortController();
const deadlineTimer = setTimeout(() => deadline.abort(new Error(`ABORTED: no result within ${timeoutS} s (raise --timeout-s)`)), timeoutS * 1000);
process.once('SIGINT', () => deadline.abort(new Error('ABORTED: interrupted')));
function bounded<T>(p: Promise<T>): Promise<T> {
  deadline.signal.throwIfAborted();
  let onAbort = () => {};
  const aborted = new Promise<never>((_, reject) => deadline.signal.addEventListener('abort', (onAbort = () => reject(deadline.signal.reason)), { once: true }));
  return Promise.race([p, aborted]).finally(() => deadline.signal.removeEventListener('abort', onAbort));
}

const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};
const r = (n: number, d = 1) => Math.round(n * 10 ** d) / 10 ** d;

// The fake's per-request sleeps each listen on one shared close signal, so 64+ in flight trip a false leak warning.
const NO_LISTENER_WARNING = '--disable-warning=MaxListenersExceededWarning';

/** `node --import tsx`, not `npm start`/`tsx`: the child's pid is then the process we measure and stop. */
function startFake(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', NO_LISTENER_WARNING, 'tests/fake-llm/cli.ts', '--port', '0', '--latency', String(latencyMs)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (b) => {
      const m = /listening on (http\S+)/.exec((out += b));
      if (m) resolve({ child, url: m[1] });
    });
    child.once('exit', (code) => reject(new Error(`fake-llm exited before listening (code ${code})`)));
  });
}

function startService(env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const prof = flags['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${ROOT}bench/profiles`] : [];
  const child = fork(`${ROOT}bench/_exp-service.ts`, [], { cwd: ROOT, execArgv: ['--import', 'tsx', ...prof], env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.on('message', (m: any) => m?.type === 'ready' && resolve({ child, url: m.url }));
    child.once('exit', (code) => reject(new Error(`service exited before listening (code ${code})`)));
  });
}

function ask(child: ChildProcess, type: string): Promise<any> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(undefined), 2000);
    child.on('message', (m: any) => m?.type === type && (clearTimeout(t), resolve(m)));
    child.send(type);
  });
}

async function stopChild(child: ChildProcess | undefined, how: () => void, graceMs: number) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((res) => child.once('exit', res));
  how();
  if ((await Promise.race([exited.then(() => true), sleep(graceMs).then(() => false)])) === false) {
    console.error(`bench: pid ${child.pid} did not stop within ${graceMs} ms; killing it`);
    child.kill('SIGKILL');
    await exited;
  }
}

/** Calls `onEvent` per SSE frame with the time its chunk arrived, so a slow parse cannot inflate the delay. */
async function readSse(url: string, onEvent: (e: any, receivedAt: number) => void): Promise<void> {
  const res = await fetch(url, { signal: deadline.signal, headers: { accept: 'text/event-stream' } });
  if (!res.ok || !res.body) throw new Error(`SSE ${url} answered ${res.status}`);
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    const receivedAt = Date.now();
    buffer += decoder.decode(chunk, { stream: true });
    for (let i; (i = buffer.indexOf('\n\n')) >= 0; buffer = buffer.slice(i + 2)) {
      const data = buffer.slice(0, i).split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trim()).join('\n');
      if (data) onEvent(JSON.parse(data), receivedAt);
    }
  }
}

/** A fixed 100 ms schedule, one request at a time: a stalled service shows up as a long request (max), not as a pile-up. */
async function probe(url: string, until: AbortSignal, latencies: number[], errors: { n: number }) {
  while (!until.aborted && !deadline.signal.aborted) {
    const t0 = performance.now();
    const res = await fetch(url).catch(() => undefined);
    await res?.arrayBuffer();
    latencies.push(performance.now() - t0);
    if (res?.status !== 200) errors.n++;
    await sleep(Math.max(0, 100 - (performance.now() - t0)));
  }
}

// CPU per process from /proc (USER_HZ = 100): the machine has 2 cores shared by the service, Postgres,
// the fake and whatever else runs, so a low ratio is only meaningful next to where the CPU went.
const cpuMs = (pid: number | undefined) => {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return 0;
  }
};
const machineBusyMs = () => {
  // Fields after "cpu": user nice system idle iowait irq softirq steal; idle and iowait are not busy.
  const t = readFileSync('/proc/stat', 'utf8').split('\n')[0].split(/\s+/).slice(1, 9).map(Number);
  return (t[0] + t[1] + t[2] + t[5] + t[6] + t[7]) * 10;
};
const vmHwmBytes = (pid: number | undefined) => {
  const m = pid ? /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8')) : null;
  return m ? Number(m[1]) * 1024 : undefined;
};

// ~300 characters per H2 section: above the 200-char minimum and far below the 2000 maximum, so one section is one chunk is one call.
const document = {
  name: 'bench.md',
  text: Array.from({ length: chunks }, (_, i) =>
    `## Topic ${i + 1}\n\n` + `Topic ${i + 1} covers fact ${i} in detail. `.repeat(7).slice(0, 280).trimEnd() + '.\n',
  ).join('\n'),
};

const dbName = `quarry_bench_${randomBytes(5).toString('hex')}`;
const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
let fake: Awaited<ReturnType<typeof startFake>> | undefined;
let service: Awaited<ReturnType<typeof startService>> | undefined;
let exitCode = 0;
try {
  await bounded(admin.unsafe(`create database ${dbName}`));
  const dbUrl = new URL(adminUrl);
  dbUrl.pathname = `/${dbName}`;
  fake = await bounded(startFake());
  const env = {
    DATABASE_URL: dbUrl.toString(), OPENAI_BASE_URL: `${fake.url}/v1`, OPENAI_API_KEY: 'sk-bench', DEFAULT_PROVIDER: 'openai',
    WORKER_CONCURRENCY: String(concurrency), LOG_LEVEL: 'warn', API_KEYS: '', PROVIDERS_FILE: '', PORT: '0',
  };
  // The provider's own limit caps calls in flight whatever WORKER_CONCURRENCY says; show it next to the bound.
  const providerCap = loadProviders(loadConfig(env)).get('openai')!.maxConcurrency;
  service = await bounded(startService(env));
  const base = service.url;

  const posted = performance.now();
  const cpu0 = { service: cpuMs(service.child.pid), fake: cpuMs(fake.child.pid), bench: process.cpuUsage(), machine: machineBusyMs() };
  const res = await bounded(fetch(`${base}/v1/generate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ documents: [document], n_pairs: pairs, max_chunks: chunks }) }));
  if (res.status !== 202) throw new Error(`POST /v1/generate answered ${res.status}: ${(await res.text()).slice(0, 500)}`);
  const runId: string = ((await res.json()) as any).run.id;
  service.child.send('reset-lag'); // the figures are about the run, not the boot

  const delays: number[] = [];
  let terminal = '';
  const runEnded = new AbortController();
  const probeLatencies: number[] = [];
  const probeErrors = { n: 0 };
  const probing = process.env.NO_PROBE ? Promise.resolve() : probe(`${base}/v1/runs/${runId}`, runEnded.signal, probeLatencies, probeErrors);
  await bounded(
    readSse(`${base}/v1/runs/${runId}/events`, (e, at) => {
      if (e.type === 'record.created') delays.push(at - e.data.ts);
      if (/^run\.(succeeded|failed|canceled)$/.test(e.type)) terminal = e.type;
    }),
  );
  const endToEndS = (performance.now() - posted) / 1000;
  runEnded.abort();
  await probing;
  if (!terminal) throw new Error('the event stream ended without a terminal event');

  const run = ((await (await fetch(`${base}/v1/runs/${runId}`)).json()) as any).run;
  const fakeStats = (await (await fetch(`${fake.url}/_fake/stats`)).json()) as { requests: number };
  const stats = await ask(service.child, 'stats');
  // The pool's backends live from the service's start, so their lifetime CPU is (nearly all) run CPU.
  const backends = await admin<{ pid: number }[]>`select pid from pg_stat_activity where datname = ${dbName}`;
  const cpu = {
    service: cpuMs(service.child.pid) - cpu0.service, postgres: backends.reduce((sum, b) => sum + cpuMs(b.pid), 0),
    fake: cpuMs(fake.child.pid) - cpu0.fake, bench: (() => { const u = process.cpuUsage(cpu0.bench); return (u.user + u.system) / 1000; })(),
    machine: machineBusyMs() - cpu0.machine,
  };
  const otherMs = Math.max(0, cpu.machine - cpu.service - cpu.postgres - cpu.fake - cpu.bench);
  const wallS = (Date.parse(run.finished_at) - Date.parse(run.started_at)) / 1000;
  const callsPerS = run.usage.requests / wallS;
  const idealPerS = concurrency / (latencyMs / 1000);
  const ratio = callsPerS / idealPerS;
  const peakRss = vmHwmBytes(service.child.pid) ?? stats?.maxRssBytes;
  const verdict = run.status === 'succeeded' && ratio >= TARGET ? 'PASS' : 'BELOW TARGET';
  const figures = {
    concurrency, latency_ms: latencyMs, chunks, pairs, provider_cap: providerCap, status: run.status, tasks_done: run.progress.done, tasks_failed: run.progress.failed,
    llm_calls: run.usage.requests, fake_requests: fakeStats.requests, records: run.progress.records, wall_s: r(wallS, 3), end_to_end_s: r(endToEndS, 3),
    llm_calls_per_s: r(callsPerS), records_per_s: r(run.progress.records / wallS), ideal_calls_per_s: r(idealPerS), ratio: r(ratio, 3),
    event_delay_ms: { n: delays.length, p50: pct(delays, 50), p99: pct(delays, 99), max: pct(delays, 100) },
    api_probe_ms: { n: probeLatencies.length, errors: probeErrors.n, p50: r(pct(probeLatencies, 50)), p99: r(pct(probeLatencies, 99)), max: r(pct(probeLatencies, 100)) },
    service_loop_lag_ms: stats?.lag,
    cpu_s: Object.fromEntries(Object.entries({ ...cpu, other: otherMs }).map(([k, v]) => [k, r(v / 1000, 2)])), service_cpu_ms_per_call: r(cpu.service / run.usage.requests, 2), service_peak_rss_mib: peakRss ? r(peakRss / 2 ** 20) : null, verdict,
  };
  const f = figures;
  const rows: Array<[string, string]> = [
    ['run', `${f.status}: ${f.tasks_done}/${chunks} tasks done, ${f.tasks_failed} failed, ${f.records} records`],
    ['wall (started→finished)', `${f.wall_s} s   (POST→terminal event received: ${f.end_to_end_s} s)`],
    ['LLM calls/s', `${f.llm_calls_per_s}   (${f.llm_calls} calls in run usage, fake counted ${f.fake_requests})`],
    ['records/s', `${f.records_per_s}`],
    ['ideal bound', `${f.ideal_calls_per_s} calls/s   (concurrency ${concurrency} ÷ ${latencyMs} ms; provider cap ${providerCap})`],
    ['ratio to bound', `${f.ratio}   (target ≥ ${TARGET})`],
    ['event delay p50/p99/max', `${f.event_delay_ms.p50} / ${f.event_delay_ms.p99} / ${f.event_delay_ms.max} ms   (n=${delays.length})`],
    ['API probe p50/p99/max', `${f.api_probe_ms.p50} / ${f.api_probe_ms.p99} / ${f.api_probe_ms.max} ms   (n=${f.api_probe_ms.n}, errors ${probeErrors.n})`],
    ['service loop lag p50/p99/max', stats ? `${stats.lag.p50} / ${stats.lag.p99} / ${stats.lag.max} ms` : 'n/a'],
    ['service peak RSS', `${f.service_peak_rss_mib} MiB`],
    ['CPU s (POST→end)', `service ${f.cpu_s.service} (${f.service_cpu_ms_per_call} ms/call), postgres ${f.cpu_s.postgres}, fake ${f.cpu_s.fake}, bench ${f.cpu_s.bench}, other ${f.cpu_s.other}`],
  ];
  console.log(`\nQuarry generate bench: concurrency ${concurrency}, teacher latency ${latencyMs} ms, ${chunks} chunks × ${pairs} pair(s)`);
  for (const [k, v] of rows) console.log(`  ${k.padEnd(30)} ${v}`);
  if (otherMs > 0.1 * cpu.machine) console.log(`  note: other processes used ${f.cpu_s.other} CPU s during the run; the figures are noisy`);
  if (providerCap < concurrency) console.log(`  note: the openai provider allows ${providerCap} calls in flight, below WORKER_CONCURRENCY ${concurrency}`);
  console.log(JSON.stringify({ bench: 'generate', ...figures }));
  console.log(verdict);
  exitCode = verdict === 'PASS' ? 0 : 1;
} catch (err) {
  console.error(deadline.signal.aborted ? (deadline.signal.reason as Error).message : err);
  exitCode = 2;
} finally {
  clearTimeout(deadlineTimer);
  await stopChild(service?.child, () => service!.child.send('stop'), 10_000);
  await stopChild(fake?.child, () => fake!.child.kill('SIGTERM'), 5_000);
  await admin.unsafe(`drop database if exists ${dbName} with (force)`).catch((err) => console.error(`bench: could not drop ${dbName}:`, err.message));
  await admin.end({ timeout: 5 });
}
process.exit(exitCode);
