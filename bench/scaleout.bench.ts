// One run spread over several standalone worker processes sharing one Postgres, with a teacher slow
// enough (1,000 ms) that CPU is not the limit: each worker count should reach its bound (workers ×
// concurrency ÷ latency), and no commit should wait for another on the run's row. While the run
// goes, pg_stat_activity is sampled every 100 ms for backends waiting on a lock.
//
//   npx tsx bench/scaleout.bench.ts [--workers 1,2,4] [--concurrency 64] [--latency 1000] [--seconds 12]
// Exit code: 0 PASS (every case ≥ 0.9 of its bound, no lock waits on runs), 1 BELOW TARGET, 2 broken.
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { cpuMs, machineBusyMs, startFake, startService, startWorker, stopChild } from './procs.js';

const TARGET = 0.9;
const { values: flags } = parseArgs({ options: { workers: { type: 'string' }, concurrency: { type: 'string' }, latency: { type: 'string' }, seconds: { type: 'string' } } });
const workerCounts = (flags.workers ?? '1,2,4').split(',').map(Number);
const concurrency = Number(flags.concurrency ?? 64);
const latencyMs = Number(flags.latency ?? 1000);
const seconds = Number(flags.seconds ?? 12);
const adminUrl = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
const r = (n: number, d = 2) => Math.round(n * 10 ** d) / 10 ** d;

interface Waits {
  samples: number;
  /** Samples with at least one backend of the bench database waiting on a lock. */
  withWaits: number;
  /** Lock waits by what was waited on (the relation, or the lock type) and the statement's first words. */
  on: Map<string, number>;
}

async function sampleLocks(dbName: string, until: AbortSignal, waits: Waits): Promise<void> {
  while (!until.aborted) {
    const rows = await admin<{ what: string; query: string }[]>`
      select coalesce(l.relation::regclass::text, l.locktype) as what, left(regexp_replace(a.query, '\\s+', ' ', 'g'), 48) as query
        from pg_stat_activity a join pg_locks l on l.pid = a.pid and not l.granted
       where a.datname = ${dbName} and a.wait_event_type = 'Lock'`;
    waits.samples++;
    if (rows.length > 0) waits.withWaits++;
    for (const w of rows) waits.on.set(`${w.what}: ${w.query}`, (waits.on.get(`${w.what}: ${w.query}`) ?? 0) + 1);
    await sleep(100);
  }
}

async function runCase(workers: number) {
  const dbName = `quarry_scale_${randomBytes(5).toString('hex')}`;
  await admin.unsafe(`create database ${dbName}`);
  const url = new URL(adminUrl);
  url.pathname = `/${dbName}`;
  const fake = await startFake(latencyMs);
  const env = {
    DATABASE_URL: url.toString(), OPENAI_BASE_URL: `${fake.url}/v1`, OPENAI_API_KEY: 'sk-bench', DEFAULT_PROVIDER: 'openai',
    LOG_LEVEL: 'warn', API_KEYS: '', PROVIDERS_FILE: '', PORT: '0',
  };
  const api = await startService({ ...env, WORKER_CONCURRENCY: '0' });
  const children = await Promise.all(Array.from({ length: workers }, () => startWorker({ ...env, WORKER_CONCURRENCY: String(concurrency) })));
  try {
    const chunks = workers * concurrency * Math.round(seconds / (latencyMs / 1000));
    const text = Array.from({ length: chunks }, (_, i) => `## Topic ${i + 1}\n\n` + `Topic ${i + 1} covers fact ${i} in detail. `.repeat(8).slice(0, 280).trimEnd() + '.\n').join('\n');
    const cpu0 = { procs: [api.child, ...children].reduce((s, c) => s + cpuMs(c.pid), 0), machine: machineBusyMs() };
    const res = await fetch(`${api.url}/v1/generate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ documents: [{ name: 'scale.md', text }], max_chunks: chunks }) });
    if (res.status !== 202) throw new Error(`POST /v1/generate answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
    const runId = ((await res.json()) as any).run.id as string;
    const done = new AbortController();
    const waits: Waits = { samples: 0, withWaits: 0, on: new Map() };
    const sampling = sampleLocks(dbName, done.signal, waits);
    let run: any;
    const started = performance.now();
    for (;;) {
      run = ((await (await fetch(`${api.url}/v1/runs/${runId}`, { headers: { prefer: 'wait=30' } })).json()) as any).run;
      if (['succeeded', 'failed', 'canceled'].includes(run.status)) break;
      if (performance.now() - started > 20 * seconds * 1000) throw new Error(`run ${runId} did not end in time`);
    }
    done.abort();
    await sampling;
    const backends = await admin<{ pid: number }[]>`select pid from pg_stat_activity where datname = ${dbName}`;
    const cpu = { quarry: [api.child, ...children].reduce((s, c) => s + cpuMs(c.pid), 0) - cpu0.procs, postgres: backends.reduce((s, b) => s + cpuMs(b.pid), 0), machine: machineBusyMs() - cpu0.machine };
    const wallS = (Date.parse(run.finished_at) - Date.parse(run.started_at)) / 1000;
    const bound = (workers * concurrency) / (latencyMs / 1000);
    const callsPerS = run.usage.requests / wallS;
    // A wait on the runs table, or on another transaction's lock of a runs row (locktype transactionid).
    const onRuns = [...waits.on].filter(([k]) => k.startsWith('runs') || /\b(update|from) runs\b/.test(k)).reduce((s, [, n]) => s + n, 0);
    return {
      workers, status: run.status, calls: run.usage.requests, wall_s: r(wallS), calls_per_s: r(callsPerS, 1), bound, ratio: r(callsPerS / bound, 3),
      lock_wait_samples: `${waits.withWaits}/${waits.samples}`, lock_waits_on_runs: onRuns, lock_waits: Object.fromEntries(waits.on),
      cpu_ms_per_call: { quarry: r(cpu.quarry / run.usage.requests), postgres: r(cpu.postgres / run.usage.requests) },
      machine_load: r(cpu.machine / 1000 / (wallS * availableParallelism())),
    };
  } finally {
    for (const c of children) await stopChild(c, () => c.kill('SIGTERM'), 15_000);
    await stopChild(api.child, () => api.child.send('stop'), 10_000);
    await stopChild(fake.child, () => fake.child.kill('SIGTERM'), 5_000);
    await admin.unsafe(`drop database if exists ${dbName} with (force)`).catch(() => {});
  }
}

let exitCode = 2;
try {
  console.log(`Quarry scale-out bench: one run over 1..N standalone workers × ${concurrency} concurrent, teacher latency ${latencyMs} ms, ~${seconds} s a case`);
  const results = [];
  for (const n of workerCounts) {
    const f = await runCase(n);
    results.push(f);
    console.log(`  ${n} worker(s): ${f.status}, ${f.calls_per_s} calls/s of ${f.bound} = ${f.ratio} (target ≥ ${TARGET}); lock waits in ${f.lock_wait_samples} samples, ${f.lock_waits_on_runs} on runs; CPU per call: quarry ${f.cpu_ms_per_call.quarry} ms, postgres ${f.cpu_ms_per_call.postgres} ms; load ${f.machine_load} of the machine`);
    for (const [on, n] of Object.entries(f.lock_waits)) console.log(`      waiting on ${on} (${n} samples)`);
    console.log(JSON.stringify({ bench: 'scaleout', concurrency, latency_ms: latencyMs, ...f }));
  }
  const pass = results.every((f) => f.status === 'succeeded' && f.ratio >= TARGET && f.lock_waits_on_runs === 0);
  console.log(pass ? 'PASS' : 'BELOW TARGET');
  exitCode = pass ? 0 : 1;
} catch (err) {
  console.error(err);
} finally {
  await admin.end({ timeout: 5 });
}
process.exit(exitCode);
