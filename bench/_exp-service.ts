// TEMPORARY profiling variant of bench/service.ts (deleted after the investigation).
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { loadConfig } from '../src/config.js';
import { createQuarry } from '../src/quarry.js';
import { openDatabase } from '../db/client.js';

const lag = monitorEventLoopDelay({ resolution: 10 });
lag.enable();
const config = loadConfig(process.env);
const database = await openDatabase({ databaseUrl: config.databaseUrl, poolSize: Number(process.env.EXP_POOL ?? 20) });
const timing = new Map<string, { n: number; ms: number; max: number }>();
const note = (k: string, ms: number) => { const t = timing.get(k) ?? { n: 0, ms: 0, max: 0 }; t.n++; t.ms += ms; t.max = Math.max(t.max, ms); timing.set(k, t); };
const label = (q: any) => { try { return String(q.queryChunks.find((c: any) => c?.value)?.value[0] ?? '?').trim().replace(/\s+/g, ' ').slice(0, 40); } catch { return '?'; } };
const db: any = database.db;
const exec = db.execute.bind(db);
db.execute = async (q: any) => { const t0 = performance.now(); try { return await exec(q); } finally { note('db.execute ' + label(q), performance.now() - t0); } };
const trans = db.transaction.bind(db);
db.transaction = async (fn: any) => {
  const t0 = performance.now();
  let first = '';
  try {
    return await trans(async (tx: any) => {
      const txExec = tx.execute.bind(tx);
      tx.execute = async (q: any) => { const s = performance.now(); first ||= label(q); try { return await txExec(q); } finally { note('  tx.execute ' + label(q), performance.now() - s); } };
      return fn(tx);
    });
  } finally { note('TX ' + first, performance.now() - t0); }
};
const quarry = await createQuarry(config, { database });
await quarry.start();
const url = await quarry.app!.listen({ port: 0, host: '127.0.0.1' });
const samples: any[] = [];
let elu = performance.eventLoopUtilization();
setInterval(() => { const e = performance.eventLoopUtilization(elu); elu = performance.eventLoopUtilization(); samples.push({ t: Date.now(), ...quarry.worker!.stats(), elu: Math.round(e.utilization * 100) }); }, 250).unref();
process.on('message', async (m) => {
  if (m === 'reset-lag') { lag.reset(); timing.clear(); samples.length = 0; }
  if (m === 'stats') {
    const metrics = await (await fetch(url + '/metrics')).text();
    console.error('\n--- worker samples (every 250ms: inFlight/uncommitted/ELU%) ---\n' + samples.map((s) => `${s.inFlight}/${s.uncommitted}/${s.elu}`).join(' '));
    console.error('--- db timing ---');
    for (const [k, v] of [...timing].sort((a, b) => b[1].ms - a[1].ms).slice(0, 25)) console.error(`${String(v.n).padStart(6)} ${v.ms.toFixed(0).padStart(7)}ms avg ${(v.ms / v.n).toFixed(2).padStart(6)} max ${v.max.toFixed(0).padStart(5)}  ${k}`);
    console.error(metrics.split('\n').filter((l) => l.startsWith('quarry_llm_request_duration') || l.includes('llm_latency')).join('\n'));
    process.send!({ type: 'stats', lag: { p50: lag.percentile(50) / 1e6, p99: lag.percentile(99) / 1e6, max: lag.max / 1e6 }, maxRssBytes: process.resourceUsage().maxRSS * 1024 });
  }
  if (m === 'stop') quarry.stop(5000).then(() => database.close()).then(() => process.exit(0));
});
process.once('disconnect', () => process.exit(0));
process.send!({ type: 'ready', url, pid: process.pid });
