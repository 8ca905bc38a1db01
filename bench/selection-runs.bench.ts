// Selection runs end to end (issue 12): the JOBS, not the vector algorithms alone (bench/select.bench.ts
// does those). Imports N synthetic QA records (questions from templates, 5% planted paraphrases of an
// earlier record) through POST /v1/datasets as JSONL, then runs each job against the service as
// src/server.ts runs it (bench/service.ts, forked), its embedding model served by the fake teacher
// (its own process, `--latency` ms per call), and prints per job: wall time, records/s, the ratio to the
// target, phases (tasks by kind: count, first created → last finished; Postgres only), embedding calls,
// the service's peak RSS during the job and its longest event-loop stall, and CPU by process.
// Teacher-free modes only (heuristic scores, judge: false), so the teacher's latency is not the limit.
//
//   npx tsx bench/selection-runs.bench.ts [--records 100000] [--db postgres|pglite] [--jobs select-coverage,select-deita,curate-semantic,compare]
//     [--latency 50] [--concurrency 16] [--timeout-s 3600] [--cpu-prof]      (or: npm run bench -- --case selection-runs …)
// Embeddings are cached per model: the first job embeds every record, later jobs reuse the vectors
// (their embedding calls say so). compare also imports a second dataset of N/10 records.
// Exit code: 0 PASS, 1 BELOW TARGET, 2 broken.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { request } from 'undici';
import { record } from './selection-records.js';
import { ask, cpuMs, machineBusyMs, startFake, startService, stopChild } from './procs.js';

/** 100,000 records through a job in at most 120 s on the 2-core machine. */
const TARGET_PER_S = 100_000 / 120;
const JOBS = ['select-coverage', 'select-deita', 'curate-semantic', 'compare'] as const;
type Job = (typeof JOBS)[number];

const str = { type: 'string' } as const;
const { values: flags } = parseArgs({ options: { records: str, db: str, jobs: str, latency: str, concurrency: str, 'timeout-s': str, 'cpu-prof': { type: 'boolean' } } });
const records = Number((flags.records ?? '100000').replaceAll('_', ''));
const db = flags.db ?? 'postgres';
const jobs = (flags.jobs ?? JOBS.join(',')).split(',') as Job[];
const latencyMs = Number(flags.latency ?? 50);
const concurrency = Number(flags.concurrency ?? 16);
const timeoutS = Number(flags['timeout-s'] ?? 3600);
if (!Number.isInteger(records) || records < 10 || !['postgres', 'pglite'].includes(db) || jobs.some((j) => !JOBS.includes(j)) || !(latencyMs >= 0)) {
  console.error(`usage: npx tsx bench/selection-runs.bench.ts [--records N ≥ 10] [--db postgres|pglite] [--jobs ${JOBS.join(',')}] [--latency ms] [--concurrency n]`);
  process.exit(2);
}
const adminUrl = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const cpuProfDir = flags['cpu-prof'] ? `${tmpdir()}/quarry-bench-profiles` : undefined;
const r = (n: number, d = 1) => Math.round(n * 10 ** d) / 10 ** d;

async function* jsonl(n: number, salt: number): AsyncGenerator<Buffer> {
  let out = '';
  for (let i = 0; i < n; i++) {
    out += `${JSON.stringify(record(i, salt))}\n`;
    if (out.length >= 64 * 1024) (yield Buffer.from(out), (out = ''));
  }
  yield Buffer.from(out);
}

async function importDataset(base: string, name: string, n: number, salt: number): Promise<{ id: string; seconds: number }> {
  const t0 = performance.now();
  const res = await request(`${base}/v1/datasets?name=${name}`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: Readable.from(jsonl(n, salt)), headersTimeout: 0, bodyTimeout: 0 });
  const answer = (await res.body.json()) as { dataset?: { id: string; record_count: number } };
  if (res.statusCode !== 201 || answer.dataset?.record_count !== n) throw new Error(`import failed: ${res.statusCode} ${JSON.stringify(answer).slice(0, 300)}`);
  return { id: answer.dataset.id, seconds: (performance.now() - t0) / 1000 };
}

function jobRequest(job: Job, datasetId: string, second: string | undefined): { path: string; body: unknown } {
  const target = Math.max(1, Math.round(records / 10));
  if (job === 'select-coverage') return { path: '/v1/select', body: { dataset_id: datasetId, strategy: 'coverage', target } };
  if (job === 'select-deita') return { path: '/v1/select', body: { dataset_id: datasetId, strategy: 'deita', target, judge: false, threshold: 0.9 } };
  if (job === 'curate-semantic') return { path: '/v1/curate', body: { dataset_id: datasetId, judge: false, dedup: { exact: true, semantic: 0.92 } } };
  return { path: '/v1/compare', body: { dataset_ids: [datasetId, second], labels: ['big', 'small'], judge: false } };
}

/** The process's resident set, 0 once it is gone (a failed job stops the service while the sampler still runs). */
function rssNow(pid: number | undefined): number {
  try {
    return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

const dbName = `quarry_bench_${randomBytes(5).toString('hex')}`;
const admin = db === 'postgres' ? postgres(adminUrl, { max: 1, onnotice: () => {} }) : undefined;
const dataDir = db === 'pglite' ? mkdtempSync(join(tmpdir(), 'quarry-selection-bench-')) : undefined;
let fake: Awaited<ReturnType<typeof startFake>> | undefined;
let service: Awaited<ReturnType<typeof startService>> | undefined;
let exitCode = 2;
let benchDb: ReturnType<typeof postgres> | undefined;
const hardStop = setTimeout(() => {
  console.error(`ABORTED: no result within ${timeoutS} s`);
  service?.child.kill('SIGKILL');
  fake?.child.kill('SIGKILL');
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  const dropped = admin?.unsafe(`drop database if exists ${dbName} with (force)`).catch(() => {});
  void Promise.race([dropped, sleep(5_000)]).finally(() => process.exit(2));
}, timeoutS * 1000);
try {
  let databaseUrl: string | undefined;
  if (admin) {
    await admin.unsafe(`create database ${dbName}`);
    const u = new URL(adminUrl);
    u.pathname = `/${dbName}`;
    databaseUrl = u.toString();
    benchDb = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  } else delete process.env.DATABASE_URL; // the fork inherits the bench's environment
  fake = await startFake(latencyMs);
  const env: Record<string, string> = {
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : { DATA_DIR: dataDir! }),
    OPENAI_BASE_URL: `${fake.url}/v1`, OPENAI_API_KEY: 'sk-bench', DEFAULT_PROVIDER: 'openai', EMBEDDING_PROVIDER: 'openai', EMBEDDING_MODEL: 'fake-embedding',
    WORKER_CONCURRENCY: String(concurrency), LOG_LEVEL: 'warn', API_KEYS: '', PROVIDERS_FILE: '', PORT: '0', RATE_LIMIT_PER_MINUTE: '0', HTTP_REQUEST_TIMEOUT_MS: '3600000',
  };
  service = await startService(env, cpuProfDir);
  const { child: svc, url: base } = service;
  const imported = await importDataset(base, 'selection-bench', records, 1);
  const second = jobs.includes('compare') ? await importDataset(base, 'selection-bench-small', Math.max(10, Math.round(records / 10)), 2) : undefined;
  console.log(`\nQuarry selection runs bench: ${records.toLocaleString('en-US')} records on ${db}, fake embedding latency ${latencyMs} ms, WORKER_CONCURRENCY ${concurrency}, ${availableParallelism()} cores, load ${loadavg().map((x) => r(x, 2)).join(' ')}`);
  console.log(`  import: ${r(imported.seconds, 2)} s (${Math.round(records / imported.seconds)} records/s)${second ? `; second dataset ${r(second.seconds, 2)} s` : ''}`);
  const verdicts: boolean[] = [];
  for (const job of jobs) {
    const { path, body } = jobRequest(job, imported.id, second?.id);
    const fake0 = ((await (await fetch(`${fake.url}/_fake/stats`)).json()) as { byPath: Record<string, number> }).byPath['/v1/embeddings'] ?? 0;
    svc.send('reset-lag');
    const cpu0 = { service: cpuMs(svc.pid), fake: cpuMs(fake.child.pid), machine: machineBusyMs() };
    const pg0 = admin ? (await admin<{ pid: number }[]>`select pid from pg_stat_activity where datname = ${dbName}`).reduce((s, b) => s + cpuMs(b.pid), 0) : 0;
    let peakRss = 0;
    // curate reads at most 200,000 records a run (LIMITS); above it the job is refused by design, not broken.
    if (job === 'curate-semantic' && records > 200_000) {
      console.log(`  ${job}: skipped (curate takes at most 200,000 records a run)`);
      continue;
    }
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssNow(svc.pid))), 200);
    const t0 = performance.now();
    const res = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const postMs = performance.now() - t0;
    const posted = (await res.json()) as any;
    if (res.status !== 202 && res.status !== 200) throw new Error(`${job}: POST ${path} answered ${res.status}: ${JSON.stringify(posted).slice(0, 400)}`);
    let run = posted.run;
    while (!/^(succeeded|failed|canceled)$/.test(run.status)) {
      await sleep(500);
      run = ((await (await fetch(`${base}/v1/runs/${run.id}`)).json()) as any).run;
    }
    const wallS = (performance.now() - t0) / 1000;
    clearInterval(sampler);
    const own = await ask(svc, 'stats');
    const embedCalls = (((await (await fetch(`${fake.url}/_fake/stats`)).json()) as { byPath: Record<string, number> }).byPath['/v1/embeddings'] ?? 0) - fake0;
    let phases: Array<{ kind: string; n: number; from_s: number; to_s: number }> = [];
    let pgCpu = 0;
    if (admin) {
      await sleep(1100); // backends flush their statistics at most once a second
      pgCpu = (await admin<{ pid: number }[]>`select pid from pg_stat_activity where datname = ${dbName}`).reduce((s, b) => s + cpuMs(b.pid), 0) - pg0;
      const rows = await benchDb!.unsafe<{ kind: string; n: string; from_s: number; to_s: number }[]>(
        `select t.kind, count(*) as n, extract(epoch from min(t.created_at) - r.created_at)::float8 as from_s, extract(epoch from max(t.updated_at) - r.created_at)::float8 as to_s
           from tasks t join runs r on r.id = t.run_id where t.run_id = $1 group by t.kind, r.created_at order by 3, 4`,
        [run.id],
      );
      phases = rows.map((p) => ({ kind: p.kind, n: Number(p.n), from_s: r(p.from_s, 2), to_s: r(p.to_s, 2) }));
    }
    const inputRecords = job === 'compare' ? records + (second ? Math.max(10, Math.round(records / 10)) : 0) : records;
    const perS = inputRecords / wallS;
    const ratio = perS / TARGET_PER_S;
    const ok = run.status === 'succeeded' && ratio >= 1;
    verdicts.push(ok);
    const cpu = { service: (cpuMs(svc.pid) - cpu0.service) / 1000, postgres: pgCpu / 1000, fake: (cpuMs(fake.child.pid) - cpu0.fake) / 1000, machine: (machineBusyMs() - cpu0.machine) / 1000 };
    const f = {
      bench: 'selection-runs', job, db, records: inputRecords, status: run.status, post_ms: r(postMs), wall_s: r(wallS, 2), records_per_s: Math.round(perS),
      target_per_s: Math.round(TARGET_PER_S), ratio: r(ratio, 2), embedding_calls: embedCalls, phases, peak_rss_mib: Math.round(peakRss / 2 ** 20),
      loop_lag_ms: own?.lag ?? null, cpu_s: Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, r(v, 1)])), machine_load: r(cpu.machine / (wallS * availableParallelism()), 2),
      error: run.status === 'succeeded' ? undefined : run.error,
    };
    console.log(`\n  ${job}: ${run.status} in ${f.wall_s} s (POST ${f.post_ms} ms)  ${f.records_per_s} records/s  ratio ${f.ratio} to ${f.target_per_s}/s (100,000 in 120 s)`);
    console.log(`    embedding calls ${embedCalls}   peak RSS ${f.peak_rss_mib} MiB   loop lag p50/p99/max ${own ? `${own.lag.p50} / ${own.lag.p99} / ${own.lag.max} ms` : 'n/a'}`);
    console.log(`    CPU s: service ${f.cpu_s.service}, postgres ${admin ? f.cpu_s.postgres : 'in-process'}, fake ${f.cpu_s.fake}, machine ${f.cpu_s.machine} (cores busy ${Math.round(f.machine_load * 100)}% of ${availableParallelism()})`);
    for (const p of phases) console.log(`    ${p.kind.padEnd(22)} ${String(p.n).padStart(6)} tasks   ${p.from_s} → ${p.to_s} s`);
    if (f.error) console.log(`    error: ${JSON.stringify(f.error).slice(0, 400)}`);
    console.log(JSON.stringify(f));
  }
  const verdict = verdicts.every(Boolean) ? 'PASS' : 'BELOW TARGET';
  console.log(verdict);
  exitCode = verdict === 'PASS' ? 0 : 1;
} catch (err) {
  console.error(err);
} finally {
  clearTimeout(hardStop);
  await stopChild(service?.child, () => service!.child.send('stop'), 20_000);
  await stopChild(fake?.child, () => fake!.child.kill('SIGTERM'), 5_000);
  await benchDb?.end({ timeout: 5 });
  if (admin) {
    await admin.unsafe(`drop database if exists ${dbName} with (force)`).catch((err) => console.error(`bench: could not drop ${dbName}: ${err.message}`));
    await admin.end({ timeout: 5 });
  }
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  if (cpuProfDir) console.log(`CPU profile of the service: ${cpuProfDir}`);
}
process.exit(exitCode);
