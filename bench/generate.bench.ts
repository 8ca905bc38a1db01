// Throughput benchmark: one big generate run against real Postgres and a fake teacher with a fixed
// latency. Three processes: the fake teacher, the service (bench/service.ts: createQuarry + listen on
// port 0, like src/server.ts) and this one, which only plays the clients (one SSE reader, one API
// probe). The service runs alone in its process so neither the fake's CPU nor the clients' JSON
// parsing sit on its event loop: event delay and probe latency then measure the service, and the
// peak RSS is the service's own.
//
//   npm run bench -- --concurrency 64 --latency 100 --chunks 6000 --pairs 1 [--sse-clients 200] [--probe-ms 100 (0: no probe)] [--timeout-s 600] [--cpu-prof]
//     [--case all|generate|tools (default all: generate, then the pipeline, then tool use)] [--tool-examples 1000]
//     [--case select [--records 100000] [--project]: bench/select.bench.ts, vectors only, no service]
//     [--case selection-runs [--records 100000] [--db postgres|pglite] [--jobs …] [--latency 50] [--concurrency 16]: bench/selection-runs.bench.ts, the jobs end to end]
//     [--case rate-limited [--rps 20] [--calls 400] [--latency 20] [--concurrency 16] [--database-url …]: bench/rate-limited.bench.ts, provider rate limits kept]
//   (or BENCH_CONCURRENCY, BENCH_LATENCY, BENCH_CHUNKS, BENCH_PAIRS, BENCH_TIMEOUT_S, BENCH_CASE, BENCH_TOOL_EXAMPLES; BENCH_DATABASE_URL)
// Exit code: 0 PASS, 1 BELOW TARGET, 2 aborted or broken.
import { randomBytes } from 'node:crypto';
import { availableParallelism, tmpdir } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { loadConfig } from '../src/config.js';
import { loadProviders } from '../src/llm/providers.js';
import { ask, cpuMs, machineBusyMs, peakRssBytes, startFake, startService, stopChild } from './procs.js';
import { crowd } from './sse-clients.js';
import { benchTools } from './tools.bench-case.js';

const TARGET = 0.9;
/** Service + Postgres CPU per teacher call at steady state (issue 9). */
const CPU_TARGET_MS = 0.6;
const cores = availableParallelism();

const str = { type: 'string' } as const;
const { values: flags } = parseArgs({
  options: { concurrency: str, latency: str, chunks: str, pairs: str, 'timeout-s': str, 'pipeline-chunks': str, 'sse-clients': str, 'probe-ms': str, case: str, 'tool-examples': str, records: str, db: str, jobs: str, project: { type: 'boolean' }, 'cpu-prof': { type: 'boolean' }, rps: str, calls: str, 'database-url': str },
});
function knob(name: 'concurrency' | 'latency' | 'chunks' | 'pairs' | 'timeout-s' | 'pipeline-chunks' | 'sse-clients' | 'probe-ms' | 'tool-examples', fallback: number, min = 1): number {
  const raw = flags[name] ?? process.env[`BENCH_${name.toUpperCase().replace('-', '_')}`];
  const n = raw === undefined ? fallback : Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be a positive integer (got ${raw})`);
  return n;
}
const concurrency = knob('concurrency', 64);
const latencyMs = knob('latency', 100);
// 6,000 calls (~10 s): long enough that JIT warm-up and the last partial wave stop dominating.
const chunks = knob('chunks', 6000);
const pairs = knob('pairs', 1);
const timeoutS = knob('timeout-s', 600);
// The pipeline case: generate → enrich → curate over this many chunks, after the generate case.
const pipelineChunks = knob('pipeline-chunks', 600);
// More SSE clients of the generate run, besides the one that measures it: what watchers cost the run.
const sseClients = knob('sse-clients', 0, 0);
// A GET /v1/runs/{id} every this many ms while the run goes (0: none). It is work of its own: at a
// slow teacher's few calls per second it outweighs the spine in the CPU per call.
const PROBE_EVERY_MS = knob('probe-ms', 100, 0);
// The tool-use case: this many examples of the HDF5 fixture (~6 teacher calls each: ~6,000 calls, as above).
const toolExamples = knob('tool-examples', 1000);
const benchCase = flags.case ?? process.env.BENCH_CASE ?? 'all';
if (!['all', 'generate', 'tools', 'select', 'selection-runs', 'rate-limited'].includes(benchCase)) throw new Error(`--case must be all, generate, tools, select, selection-runs or rate-limited (got ${benchCase})`);
if (benchCase === 'rate-limited') {
  // Achieved rate / allowed rate and 429s with a configured and a learned limit (bench/rate-limited.bench.ts).
  const pass = (name: 'rps' | 'calls' | 'latency' | 'concurrency' | 'database-url') => (flags[name] ? [`--${name}`, String(flags[name])] : []);
  const args = [...pass('rps'), ...pass('calls'), ...pass('latency'), ...pass('concurrency'), ...pass('database-url')];
  const { status } = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./rate-limited.bench.ts', import.meta.url)), ...args], { stdio: 'inherit' });
  process.exit(status ?? 2);
}
if (benchCase === 'selection-runs') {
  // The select, curate semantic and compare jobs end to end through the service (bench/selection-runs.bench.ts).
  const pass = (name: 'records' | 'db' | 'jobs' | 'latency' | 'concurrency' | 'timeout-s') => (flags[name] ? [`--${name}`, String(flags[name])] : []);
  const args = [...pass('records'), ...pass('db'), ...pass('jobs'), ...pass('latency'), ...pass('concurrency'), ...pass('timeout-s'), ...(flags['cpu-prof'] ? ['--cpu-prof'] : [])];
  const { status } = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./selection-runs.bench.ts', import.meta.url)), ...args], { stdio: 'inherit' });
  process.exit(status ?? 2);
}
if (benchCase === 'select') {
  // Pure computation over precomputed embeddings: no service, no database (bench/select.bench.ts).
  const args = [...(flags.records ? ['--records', flags.records] : []), ...(flags.project ? ['--project'] : [])];
  const { status } = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./select.bench.ts', import.meta.url)), ...args], { stdio: 'inherit' });
  process.exit(status ?? 2);
}
const adminUrl = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const cpuProfDir = flags['cpu-prof'] ? `${tmpdir()}/quarry-bench-profiles` : undefined;

// One deadline for everything: startup, the run and the clients all give up on it (or on Ctrl-C).
const deadline = new AbortController();
const deadlineTimer = setTimeout(() => deadline.abort(new Error(`ABORTED: no result within ${timeoutS} s (raise --timeout-s)`)), timeoutS * 1000);
process.once('SIGINT', () => deadline.abort(new Error('ABORTED: interrupted')));
function bounded<T>(p: Promise<T>): Promise<T> {
  deadline.signal.throwIfAborted();
  let onAbort = () => {};
  const aborted = new Promise<never>((_, reject) => deadline.signal.addEventListener('abort', (onAbort = () => reject(deadline.signal.reason)), { once: true }));
  return Promise.race([p, aborted]).finally(() => deadline.signal.removeEventListener('abort', onAbort));
}

const pct = (xs: number[], p: number) => (xs.length === 0 ? null : [...xs].sort((a, b) => a - b)[Math.max(0, Math.ceil((p / 100) * xs.length) - 1)]);
const r = (n: number | null | undefined, d = 1) => (n == null ? null : Math.round(n * 10 ** d) / 10 ** d);
const stats3 = (xs: number[]) => ({ n: xs.length, p50: r(pct(xs, 50)), p99: r(pct(xs, 99)), max: r(pct(xs, 100)) });

/** Calls `onEvent` per SSE frame with the time its chunk arrived, so parsing a burst cannot inflate the delay. */
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

/** One request at a time on a fixed schedule: a stalled service shows up as one long request (max), not a pile-up. */
async function probe(url: string, until: AbortSignal, out: { ms: number[]; errors: number; bytes: number }) {
  while (PROBE_EVERY_MS > 0 && !until.aborted && !deadline.signal.aborted) {
    const t0 = performance.now();
    const res = await fetch(url).catch(() => undefined);
    out.bytes = (await res?.arrayBuffer().catch(() => undefined))?.byteLength ?? 0;
    out.ms.push(performance.now() - t0);
    if (res?.status !== 200) out.errors++;
    await sleep(Math.max(0, PROBE_EVERY_MS - (performance.now() - t0)));
  }
}

// ~300 characters per H2 section: above the 200-char minimum and far below the 2000 maximum, so one
// section is one chunk is one teacher call.
const document = {
  name: 'bench.md',
  text: Array.from({ length: chunks }, (_, i) => `## Topic ${i + 1}\n\n` + `Topic ${i + 1} covers fact ${i} in detail. `.repeat(8).slice(0, 280).trimEnd() + '.\n').join('\n'),
};

/** generate → enrich → curate on the same service: each stage's rows in → out, records/s and calls. */
async function benchPipeline(base: string) {
  const doc = { name: 'pipeline.md', text: document.text.split('\n## ').slice(0, pipelineChunks).join('\n## ') };
  const body = JSON.stringify({ generate: { documents: [doc], n_pairs: 1 }, enrich: { batch_size: 5 }, curate: { threshold: 0, batch_size: 5, dedup: { exact: true } } });
  const started = performance.now();
  const res = await bounded(fetch(`${base}/v1/pipelines`, { method: 'POST', headers: { 'content-type': 'application/json', prefer: 'wait=600' }, body }));
  const run = ((await res.json()) as any).run;
  const wallS = (performance.now() - started) / 1000;
  console.log(`\nQuarry pipeline bench: generate → enrich → curate over ${pipelineChunks} chunks, ${run.status} in ${r(wallS, 2)} s`);
  const stages = run.output.report.stages as Array<{ kind: string; rows_in: number; rows_out: number; records_per_second: number; usage: { requests: number } }>;
  for (const s of stages) {
    console.log(`  ${s.kind.padEnd(10)} rows ${String(s.rows_in).padStart(5)} → ${String(s.rows_out).padEnd(5)}  ${String(s.records_per_second).padStart(7)} records/s  ${s.usage.requests} teacher calls`);
  }
  console.log(JSON.stringify({ bench: 'pipeline', chunks: pipelineChunks, status: run.status, wall_s: r(wallS, 2), stages: stages.map((s) => ({ kind: s.kind, rows_in: s.rows_in, rows_out: s.rows_out, records_per_s: s.records_per_second, calls: s.usage.requests })) }));
}

const dbName = `quarry_bench_${randomBytes(5).toString('hex')}`;
const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
let fake: Awaited<ReturnType<typeof startFake>> | undefined;
let service: Awaited<ReturnType<typeof startService>> | undefined;
let exitCode = 2;
try {
  await bounded(admin.unsafe(`create database ${dbName}`));
  const dbUrl = new URL(adminUrl);
  dbUrl.pathname = `/${dbName}`;
  fake = await bounded(startFake(latencyMs));
  // Empty API_KEYS / PROVIDERS_FILE override whatever the caller's shell has: the bench is open and on loopback.
  const env = {
    DATABASE_URL: dbUrl.toString(), OPENAI_BASE_URL: `${fake.url}/v1`, OPENAI_API_KEY: 'sk-bench', DEFAULT_PROVIDER: 'openai',
    WORKER_CONCURRENCY: String(concurrency), LOG_LEVEL: 'warn', API_KEYS: '', PROVIDERS_FILE: '', PORT: '0',
  };
  // The provider's own limit caps calls in flight whatever WORKER_CONCURRENCY says; shown next to the bound.
  const providerCap = loadProviders(loadConfig(env)).get('openai')!.maxConcurrency;
  service = await bounded(startService(env, cpuProfDir));
  const base = service.url;
  const svc = service.child;

  const verdicts: string[] = [];
  if (benchCase !== 'tools') {
    const xacts = async () => Number((await admin<{ n: string }[]>`select xact_commit + xact_rollback as n from pg_stat_database where datname = ${dbName}`)[0]?.n ?? 0);
    const xact0 = await xacts();
    const cpu0 = { service: cpuMs(svc.pid), fake: cpuMs(fake.child.pid), bench: process.cpuUsage(), machine: machineBusyMs() };
    const posted = performance.now();
    const body = JSON.stringify({ documents: [document], n_pairs: pairs, max_chunks: chunks });
    const res = await bounded(fetch(`${base}/v1/generate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body }));
    if (res.status !== 202) throw new Error(`POST /v1/generate answered ${res.status}: ${(await res.text()).slice(0, 500)}`);
    const postMs = performance.now() - posted;
    const runId: string = ((await res.json()) as any).run.id;
    svc.send('reset-lag'); // the lag figures are about the run, not the boot

    const delays: number[] = [];
    let terminal = '';
    const runEnded = new AbortController();
    const probed = { ms: [] as number[], errors: 0, bytes: 0 };
    const probing = probe(`${base}/v1/runs/${runId}`, runEnded.signal, probed);
    const watchers = crowd(`${base}/v1/runs/${runId}/events`, sseClients, deadline.signal);
    await bounded(
      readSse(`${base}/v1/runs/${runId}/events`, (e, at) => {
        if (e.type === 'record.created') delays.push(at - e.data.ts);
        if (/^run\.(succeeded|failed|canceled)$/.test(e.type)) terminal = e.type;
      }),
    );
    const endToEndS = (performance.now() - posted) / 1000;
    runEnded.abort();
    await probing;
    await bounded(watchers.done);
    if (!terminal) throw new Error('the event stream ended without a terminal event');

    const run = ((await (await fetch(`${base}/v1/runs/${runId}`)).json()) as any).run;
    const fakeStats = (await (await fetch(`${fake.url}/_fake/stats`)).json()) as { requests: number };
    const own = await ask(svc, 'stats');
    // The pool's backends live from the service's start, so their lifetime CPU is (nearly all) run CPU.
    await sleep(1200); // backends flush their statistics at most once a second
    const xactsPerCall = ((await xacts()) - xact0) / run.usage.requests;
    const backends = await admin<{ pid: number }[]>`select pid from pg_stat_activity where datname = ${dbName}`;
    const benchCpu = process.cpuUsage(cpu0.bench);
    const cpu = {
      service: cpuMs(svc.pid) - cpu0.service, postgres: backends.reduce((sum, b) => sum + cpuMs(b.pid), 0),
      fake: cpuMs(fake.child.pid) - cpu0.fake, bench: (benchCpu.user + benchCpu.system) / 1000, machine: machineBusyMs() - cpu0.machine,
    };
    const other = Math.max(0, cpu.machine - cpu.service - cpu.postgres - cpu.fake - cpu.bench);

    const wallS = (Date.parse(run.finished_at) - Date.parse(run.started_at)) / 1000;
    const callsPerS = run.usage.requests / wallS;
    const idealPerS = concurrency / (latencyMs / 1000);
    const ratio = callsPerS / idealPerS;
    const peakRss = peakRssBytes(svc.pid) ?? own?.maxRssBytes;
    const verdict = run.status === 'succeeded' && ratio >= TARGET ? 'PASS' : 'BELOW TARGET';
    const f = {
      bench: 'generate', concurrency, latency_ms: latencyMs, chunks, pairs, provider_cap: providerCap,
      status: run.status, tasks_done: run.progress.done, tasks_failed: run.progress.failed, records: run.progress.records,
      llm_calls: run.usage.requests, fake_requests: fakeStats.requests, post_ms: r(postMs), wall_s: r(wallS, 3), end_to_end_s: r(endToEndS, 3),
      llm_calls_per_s: r(callsPerS), records_per_s: r(run.progress.records / wallS), ideal_calls_per_s: r(idealPerS), ratio: r(ratio, 3),
      event_delay_ms: stats3(delays), api_probe_ms: { ...stats3(probed.ms), errors: probed.errors, response_bytes: probed.bytes },
      service_loop_lag_ms: own?.lag ?? null, service_peak_rss_mib: peakRss ? r(peakRss / 2 ** 20) : null,
      cpu_s: Object.fromEntries(Object.entries({ ...cpu, other }).map(([k, v]) => [k, r(v / 1000, 2)])),
      postgres_transactions_per_call: r(xactsPerCall, 2), service_cpu_ms_per_call: r(cpu.service / run.usage.requests, 2), postgres_cpu_ms_per_call: r(cpu.postgres / run.usage.requests, 2),
      sse_clients: { n: sseClients, complete: watchers.stats.complete, events: watchers.stats.events, delay_ms: stats3(watchers.stats.delays), problems: watchers.stats.problems },
      verdict,
    };
    const ms3 = (s: { p50: number | null; p99: number | null; max: number | null }) => `${s.p50} / ${s.p99} / ${s.max} ms`;
    const rows: Array<[string, string]> = [
      ['run', `${f.status}: ${f.tasks_done}/${chunks} tasks done, ${f.tasks_failed} failed, ${f.records} records (POST took ${f.post_ms} ms)`],
      ['wall (started→finished)', `${f.wall_s} s   (POST→terminal event received: ${f.end_to_end_s} s)`],
      ['LLM calls/s', `${f.llm_calls_per_s}   (${f.llm_calls} calls in run usage, fake counted ${f.fake_requests})`],
      ['records/s', `${f.records_per_s}`],
      ['ideal bound', `${f.ideal_calls_per_s} calls/s   (concurrency ${concurrency} ÷ ${latencyMs} ms; provider cap ${providerCap})`],
      ['ratio to bound', `${f.ratio}   (target ≥ ${TARGET})`],
      ['event delay p50/p99/max', `${ms3(f.event_delay_ms)}   (record.created received − data.ts, n=${delays.length})`],
      ['API probe p50/p99/max', `${ms3(f.api_probe_ms)}   (GET /v1/runs/{id} every ${PROBE_EVERY_MS} ms, n=${probed.ms.length}, ${probed.errors} errors, ${r(probed.bytes / 1024)} KiB each)`],
      ['service loop lag p50/p99/max', own ? ms3(own.lag) : 'n/a'],
      ['service peak RSS', `${f.service_peak_rss_mib} MiB`],
      ['CPU s, POST→end', `service ${f.cpu_s.service} (${f.service_cpu_ms_per_call} ms/call), postgres ${f.cpu_s.postgres} (${f.postgres_cpu_ms_per_call} ms/call), fake ${f.cpu_s.fake}, bench ${f.cpu_s.bench}, other ${f.cpu_s.other}`],
      ['CPU per call, service+postgres', `${r(f.service_cpu_ms_per_call! + f.postgres_cpu_ms_per_call!, 2)} ms   (target ≤ ${CPU_TARGET_MS} ms: ratio ${r((f.service_cpu_ms_per_call! + f.postgres_cpu_ms_per_call!) / CPU_TARGET_MS, 2)})`],
      ['outcomes per commit', own?.worker?.committed ? `${r(own.worker.committed.outcomes / own.worker.committed.commits)}   (${own.worker.committed.commits} commits; commit delay now ${own.worker.committed.delay_ms} ms)` : 'n/a'],
      ['Postgres transactions per call', `${f.postgres_transactions_per_call}   (statements outside a transaction count one each)`],
      ['machine load', `${r(cpu.machine / 1000 / (endToEndS * cores), 2)} of ${cores} cores busy POST→end`],
    ];
    if (sseClients > 0) {
      rows.push(['extra SSE clients', `${sseClients}: ${f.sse_clients.complete} got every event in order, ${f.sse_clients.events} events, delay ${ms3(f.sse_clients.delay_ms)}${f.sse_clients.problems.length ? `; problems: ${f.sse_clients.problems.slice(0, 3).join('; ')}` : ''}`]);
    }
    console.log(`\nQuarry generate bench: concurrency ${concurrency}, teacher latency ${latencyMs} ms, ${chunks} chunks × ${pairs} pair(s)`);
    for (const [k, v] of rows) console.log(`  ${k.padEnd(30)} ${v}`);
    // Two cores are shared by everything; CPU taken by unrelated processes makes the ratio say little.
    if (other > 0.1 * cpu.machine) console.log(`  note: other processes used ${f.cpu_s.other} of ${f.cpu_s.machine} busy CPU s during the run: noisy figures`);
    if (providerCap < concurrency) console.log(`  note: the openai provider allows ${providerCap} calls in flight, below WORKER_CONCURRENCY ${concurrency}`);
    if (cpuProfDir) console.log(`  CPU profile of the service: ${cpuProfDir} (written when it exits)`);
    console.log(JSON.stringify(f));
    await benchPipeline(base);
    verdicts.push(verdict);
  }
  if (benchCase !== 'generate') {
    const ctx = { base, fakeUrl: fake.url, svc, fakePid: fake.child.pid, admin, dbName, concurrency, latencyMs, examples: toolExamples, cores, target: TARGET, bounded };
    verdicts.push(await benchTools(ctx));
  }
  const verdict = verdicts.every((v) => v === 'PASS') ? 'PASS' : 'BELOW TARGET';
  console.log(verdict);
  exitCode = verdict === 'PASS' ? 0 : 1;
} catch (err) {
  console.error(deadline.signal.aborted ? (deadline.signal.reason as Error).message : err);
} finally {
  clearTimeout(deadlineTimer);
  await stopChild(service?.child, () => service!.child.send('stop'), 10_000);
  await stopChild(fake?.child, () => fake!.child.kill('SIGTERM'), 5_000);
  await admin.unsafe(`drop database if exists ${dbName} with (force)`).catch((err) => console.error(`bench: could not drop ${dbName}: ${err.message}`));
  await admin.end({ timeout: 5 });
}
process.exit(exitCode);
