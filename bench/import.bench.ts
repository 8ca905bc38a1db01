// Import throughput and memory: POST /v1/datasets with a generated body of N records (~300 bytes
// each) streamed over real HTTP to the service in its own process (bench/service.ts, as src/server.ts
// runs it), on a Postgres database the benchmark creates and drops. Prints records/s against the
// 50,000 records/s target, the service's peak RSS (VmHWM, and its growth over the idle service),
// and the longest event-loop stall during the import. Several counts (--records 100000,1000000)
// each get a fresh service and database, so peak RSS can be compared across counts.
//
//   npx tsx bench/import.bench.ts [--records 1000000] [--format jsonl|json] [--cpu-prof]
//   (Postgres: BENCH_DATABASE_URL or TEST_DATABASE_URL, else postgres://postgres@127.0.0.1:5432/test)
// Exit code: 0 PASS, 1 BELOW TARGET, 2 broken.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { request } from 'undici';
import { ask, cpuMs, machineBusyMs, peakRssBytes, startService, stopChild } from './procs.js';

const TARGET_PER_S = 50_000;
const { values: flags } = parseArgs({ options: { records: { type: 'string' }, format: { type: 'string' }, 'cpu-prof': { type: 'boolean' } } });
const counts = (flags.records ?? '1000000').split(',').map((n) => Number(n.replaceAll('_', '')));
const format = flags.format ?? 'jsonl';
if (counts.some((n) => !Number.isInteger(n) || n < 1) || !['jsonl', 'json'].includes(format)) {
  console.error('usage: npx tsx bench/import.bench.ts [--records 1000000[,100000]] [--format jsonl|json] [--cpu-prof]');
  process.exit(2);
}
const adminUrl = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const cpuProfDir = flags['cpu-prof'] ? `${tmpdir()}/quarry-bench-profiles` : undefined;

/** A question/answer record of ~300 bytes as JSON, distinct per index. */
const record = (i: number) => ({
  question: `Question ${i}: how does the import keep memory flat while record ${i} streams in?`,
  answer: `Answer ${i}: each record is checked as it completes and written in batches inside one transaction, nothing else is held.`,
  source: 'bench.md',
  chunk_id: `chunk-${Math.floor(i / 3)}`,
  tags: ['import', 'bench'],
});

/** The body, made as it is sent in ~64 KiB chunks: the client never holds more than one. */
async function* body(n: number): AsyncGenerator<Buffer> {
  let out = format === 'json' ? '{"name":"bench","records":[' : '';
  for (let i = 0; i < n; i++) {
    out += format === 'json' ? `${i ? ',' : ''}${JSON.stringify(record(i))}` : `${JSON.stringify(record(i))}\n`;
    if (out.length >= 64 * 1024) {
      yield Buffer.from(out);
      out = '';
    }
  }
  yield Buffer.from(format === 'json' ? `${out}]}` : out);
}

const rssBytes = (pid: number | undefined) => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : undefined;
};
const mib = (bytes: number | undefined) => (bytes === undefined ? 'n/a' : Math.round(bytes / 1024 ** 2));

async function bench(n: number) {
  const dbName = `quarry_bench_${randomBytes(4).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${dbName}`);
  const url = new URL(adminUrl);
  url.pathname = `/${dbName}`;
  let service: Awaited<ReturnType<typeof startService>> | undefined;
  try {
    service = await startService(
      {
        DATABASE_URL: url.toString(),
        WORKER_CONCURRENCY: '0',
        LOG_LEVEL: 'warn',
        RATE_LIMIT_PER_MINUTE: '0',
        // A big import takes longer than the default 120 s a request may take to arrive.
        HTTP_REQUEST_TIMEOUT_MS: '3600000',
      },
      cpuProfDir,
    );
    const { child } = service;
    const idleRss = rssBytes(child.pid);
    await ask(child, 'reset-lag');
    // Postgres backends of this database (the service's pool), so their CPU can be read from /proc.
    const backends = async () => (await admin<{ pid: number }[]>`select pid from pg_stat_activity where datname = ${dbName}`).map((r) => r.pid);
    const pgCpu = async () => (await backends()).reduce((sum, pid) => sum + cpuMs(pid), 0);
    const pgBefore = await pgCpu();
    const cpuBefore = cpuMs(child.pid);
    const clientBefore = process.cpuUsage();
    const machineBefore = machineBusyMs();
    const started = performance.now();
    // The service's RSS every 100 ms: its highest in each quarter of the import shows whether it grows.
    const samples: number[] = [];
    const sampler = setInterval(() => samples.push(rssBytes(child.pid) ?? 0), 100);
    const res = await request(`${service.url}/v1/datasets?name=bench`, {
      method: 'POST',
      headers: { 'content-type': format === 'json' ? 'application/json' : 'application/x-ndjson' },
      body: Readable.from(body(n)),
      headersTimeout: 0,
      bodyTimeout: 0,
    });
    const answer = (await res.body.json()) as { dataset?: { id: string; record_count: number }; error?: unknown };
    const seconds = (performance.now() - started) / 1000;
    clearInterval(sampler);
    const quarter = Math.max(1, Math.ceil(samples.length / 4));
    const rssByQuarter = [0, 1, 2, 3].map((q) => mib(Math.max(0, ...samples.slice(q * quarter, (q + 1) * quarter))));
    if (res.statusCode !== 201 || answer.dataset?.record_count !== n) throw new Error(`import failed: ${res.statusCode} ${JSON.stringify(answer).slice(0, 500)}`);
    const machine = machineBusyMs() - machineBefore;
    const client = process.cpuUsage(clientBefore);
    const stats = await ask(child, 'stats');
    const serviceCpu = cpuMs(child.pid) - cpuBefore;
    const pg = (await pgCpu()) - pgBefore;
    const pgPeakRss = Math.max(0, ...(await backends()).map((pid) => peakRssBytes(pid) ?? 0));
    const s1 = (ms: number) => Math.round(ms / 100) / 10;
    const perS = Math.round(n / seconds);
    const result = {
      db: 'postgres',
      format,
      records: n,
      seconds: Math.round(seconds * 100) / 100,
      records_per_s: perS,
      vs_target: Math.round((perS / TARGET_PER_S) * 100) / 100,
      // Where the machine's CPU went: the service, its Postgres backends, this client, and anything else running.
      service_cpu_s: s1(serviceCpu),
      postgres_cpu_s: s1(pg),
      client_cpu_s: s1((client.user + client.system) / 1000),
      machine_busy_s: s1(machine),
      cores_x_seconds: Math.round(availableParallelism() * seconds * 10) / 10,
      idle_rss_mib: mib(idleRss),
      peak_rss_mib: mib(peakRssBytes(child.pid) ?? stats?.maxRssBytes),
      rss_by_quarter_mib: rssByQuarter,
      postgres_backend_peak_rss_mib: mib(pgPeakRss),
      max_event_loop_delay_ms: stats?.lag.max ?? 'n/a',
      p99_event_loop_delay_ms: stats?.lag.p99 ?? 'n/a',
    };
    console.log(JSON.stringify(result));
    return result;
  } finally {
    if (service) await stopChild(service.child, () => service!.child.send('stop'), 10_000);
    await admin.unsafe(`drop database if exists ${dbName} with (force)`).catch((err) => console.error(`bench: could not drop ${dbName}: ${err.message}`));
    await admin.end();
  }
}

try {
  const results = [];
  for (const n of counts) results.push(await bench(n));
  const below = results.filter((r) => r.records_per_s < TARGET_PER_S);
  console.log(below.length === 0 ? `PASS: every import at or above ${TARGET_PER_S} records/s` : `BELOW TARGET: ${below.map((r) => `${r.records} records at ${r.records_per_s}/s`).join('; ')}`);
  if (cpuProfDir) console.log(`CPU profiles of the service: ${cpuProfDir}`);
  process.exit(below.length === 0 ? 0 : 1);
} catch (err) {
  console.error(`bench: ${err instanceof Error ? err.message : err}`);
  process.exit(2);
}
