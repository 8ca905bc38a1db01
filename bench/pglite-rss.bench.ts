// Idle memory of the service on the embedded PGlite (no DATABASE_URL), the issue's bound being
// 250 MiB of resident memory for the whole process. Cases, each read from /proc/<pid>/status after
// the process has sat idle: (a) first start on an empty data directory, (b) a second start on the
// same directory, (c) that same process after a small generate run against the fake teacher. Then,
// for scale, bare Node processes with only PGlite open, so the service's own share is visible.
//
//   npx tsx bench/pglite-rss.bench.ts [--idle-s 10] [--keep]
// The service gets the Node flags of package.json's start script (`tsx <flags> src/server.ts`).
// Exit code: 0 PASS (all three under the bound), 1 ABOVE BOUND, 2 broken.
import { fork, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { ROOT, startFake, startService, stopChild } from './procs.js';

const BOUND_MIB = 250;
const { values: flags } = parseArgs({ options: { 'idle-s': { type: 'string' }, keep: { type: 'boolean' }, bare: { type: 'string' } } });
// Long enough for V8's memory reducer, which shrinks the heap some seconds after the last collection.
const idleMs = Number(flags['idle-s'] ?? 10) * 1000;
const startFlags = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts.start as string).split(/\s+/).filter((arg) => arg.startsWith('--'));
const nodeOptions = [process.env.NODE_OPTIONS, ...startFlags].filter(Boolean).join(' ');

interface Mem {
  rss: number;
  hwm: number;
  anon: number;
}

/** VmRSS, VmHWM (peak) and RssAnon of a process, in MiB. */
function mem(pid: number | undefined): Mem {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const mib = (key: string) => Math.round((Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(status)?.[1]) / 1024) * 10) / 10;
  return { rss: mib('VmRSS'), hwm: mib('VmHWM'), anon: mib('RssAnon') };
}

// --bare <dir>: this file, forked, opens the database the way the service does and nothing else.
if (flags.bare) {
  const { openDatabase } = await import('../db/client.js');
  const database = await openDatabase({ dataDir: flags.bare });
  await sleep(idleMs);
  process.send!({ type: 'idle', ...process.memoryUsage() });
  await new Promise((resolve) => process.once('message', resolve));
  await database.close();
  process.exit(0);
}

/** A bare process on `dir`: `service` = Quarry's openDatabase (migrations included), `upstream` = `new PGlite(dir)` in plain Node. */
async function bare(kind: 'service' | 'upstream', dir: string): Promise<Mem & { split?: string }> {
  const upstream = `import { PGlite } from '@electric-sql/pglite';
    const pg = await PGlite.create(${JSON.stringify(dir)});
    await new Promise((r) => setTimeout(r, ${idleMs}));
    process.send({ type: 'idle' });
    process.once('message', async () => { await pg.close(); process.exit(0); });`;
  const child =
    kind === 'service'
      ? fork(join(ROOT, 'bench/pglite-rss.bench.ts'), ['--bare', dir, '--idle-s', String(idleMs / 1000)], { cwd: ROOT, execArgv: ['--import', 'tsx'], env: { ...process.env, NODE_OPTIONS: nodeOptions }, stdio: 'inherit' })
      : spawn(process.execPath, ['--input-type=module', '-e', upstream], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const idle = await new Promise<any>((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (code) => reject(new Error(`bare ${kind} exited early (code ${code})`)));
  });
  const m = mem(child.pid);
  await stopChild(child, () => child.send('stop'), 10_000);
  const mb = (n: number) => Math.round(n / 2 ** 20);
  return { ...m, split: idle.heapUsed ? `heap ${mb(idle.heapUsed)}, external ${mb(idle.external)} (array buffers ${mb(idle.arrayBuffers)})` : undefined };
}

const line = (label: string, m: Mem & { split?: string }) =>
  `  ${label.padEnd(44)} RSS ${String(m.rss).padStart(6)} MiB  (${(m.rss / BOUND_MIB).toFixed(2)} of bound)  peak ${String(m.hwm).padStart(6)} MiB${m.split ? `  ${m.split}` : ''}`;

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'quarry-pglite-rss-'));
  dirs.push(d);
  return d;
};

let fake: Awaited<ReturnType<typeof startFake>> | undefined;
let service: Awaited<ReturnType<typeof startService>> | undefined;
let exitCode = 2;
try {
  fake = await startFake(5);
  const dataDir = tempDir();
  // DATABASE_URL empty = unset for loadConfig: the service opens PGlite in DATA_DIR, as `npm start` does.
  // WORKER_CONCURRENCY empty = its default, so the in-process worker runs as it does under `npm start`.
  const env = {
    DATABASE_URL: '', DATA_DIR: dataDir, OPENAI_BASE_URL: `${fake.url}/v1`, OPENAI_API_KEY: 'sk-bench', DEFAULT_PROVIDER: 'openai',
    WORKER_CONCURRENCY: '', LOG_LEVEL: 'warn', API_KEYS: '', PROVIDERS_FILE: '', PORT: '0', NODE_OPTIONS: nodeOptions,
  };
  const stop = () => stopChild(service?.child, () => service!.child.send('stop'), 15_000);
  const cases: Array<{ key: string; label: string; mem: Mem; start_ms?: number }> = [];

  let t0 = performance.now();
  service = await startService(env);
  let startMs = Math.round(performance.now() - t0);
  await sleep(idleMs);
  cases.push({ key: 'a_fresh', label: `(a) fresh data directory (start ${startMs} ms)`, mem: mem(service.child.pid), start_ms: startMs });
  await stop();

  t0 = performance.now();
  service = await startService(env);
  startMs = Math.round(performance.now() - t0);
  await sleep(idleMs);
  cases.push({ key: 'b_existing', label: `(b) existing data directory (start ${startMs} ms)`, mem: mem(service.child.pid), start_ms: startMs });

  const doc = { name: 'rss.md', text: Array.from({ length: 8 }, (_, i) => `## Topic ${i + 1}\n\n` + `Topic ${i + 1} covers fact ${i} in some detail. `.repeat(8)).join('\n') };
  const res = await fetch(`${service.url}/v1/generate`, { method: 'POST', headers: { 'content-type': 'application/json', prefer: 'wait=60' }, body: JSON.stringify({ documents: [doc], n_pairs: 2 }) });
  const run = ((await res.json()) as any).run;
  if (res.status !== 200 || run?.status !== 'succeeded') throw new Error(`the small run did not succeed: ${res.status} ${run?.status}`);
  await sleep(idleMs);
  cases.push({ key: 'c_after_run', label: `(c) after a run (${run.progress.records} records)`, mem: mem(service.child.pid) });
  await stop();

  const upstreamDir = tempDir();
  const scale = [
    { key: 'bare_fresh', label: 'PGlite via openDatabase, fresh directory', mem: await bare('service', tempDir()) },
    { key: 'bare_existing', label: 'PGlite via openDatabase, existing directory', mem: await bare('service', dataDir) },
    { key: 'upstream_fresh', label: 'new PGlite(dir) defaults, fresh directory', mem: await bare('upstream', upstreamDir) },
    { key: 'upstream_existing', label: 'new PGlite(dir) defaults, existing directory', mem: await bare('upstream', upstreamDir) },
  ];

  console.log(`\nQuarry PGlite idle memory: service process (node --import tsx bench/service.ts, NODE_OPTIONS="${nodeOptions}"), ${idleMs / 1000} s idle, bound ${BOUND_MIB} MiB`);
  for (const c of cases) console.log(line(c.label, c.mem));
  console.log('  for scale, bare Node processes with only PGlite open:');
  for (const c of scale) console.log(line(c.label, c.mem));
  const verdict = cases.every((c) => c.mem.rss < BOUND_MIB) ? 'PASS' : 'ABOVE BOUND';
  const figures = Object.fromEntries([...cases, ...scale].map(({ key, mem: m, ...rest }) => [key, { rss_mib: m.rss, peak_mib: m.hwm, ...('start_ms' in rest ? { start_ms: rest.start_ms } : {}) }]));
  console.log(JSON.stringify({ bench: 'pglite-rss', node_options: nodeOptions, idle_s: idleMs / 1000, bound_mib: BOUND_MIB, ...figures, verdict }));
  console.log(verdict);
  exitCode = verdict === 'PASS' ? 0 : 1;
} catch (err) {
  console.error(err);
} finally {
  await stopChild(service?.child, () => service!.child.send('stop'), 15_000);
  await stopChild(fake?.child, () => fake!.child.kill('SIGTERM'), 5_000);
  if (flags.keep) console.log(`kept: ${dirs.join(' ')}`);
  else for (const d of dirs) rmSync(d, { recursive: true, force: true });
}
process.exit(exitCode);
