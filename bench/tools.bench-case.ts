// The tool-use case of `npm run bench` (issue 11): one POST /v1/tools/generate run over the HDF5
// fixture (auto mode, simulated execution) on the service and fake teacher generate.bench.ts
// started. One example is one task whose teacher calls run one after another — the request, one per
// step, one simulated execution per tool call (a step's parallel calls at once), the final answer and
// the judge — so the bound is concurrency ÷ (calls per example × latency) examples/s, with the calls
// per example measured from the run's usage. `regenerate: 0`: the fake judge's `correct` is a coin
// toss, and regenerated tries would make a long tail of a few tasks in flight; every planned example
// is then made exactly once (kept or rejected) and counts as one example.
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChildProcess } from 'node:child_process';
import { Type, type TSchema, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { Sql } from 'postgres';
import { ask, cpuMs, machineBusyMs, ROOT } from './procs.js';

export interface ToolsCaseContext {
  base: string;
  fakeUrl: string;
  svc: ChildProcess;
  fakePid: number | undefined;
  admin: Sql;
  dbName: string;
  concurrency: number;
  latencyMs: number;
  examples: number;
  cores: number;
  target: number;
  bounded: <T>(p: Promise<T>) => Promise<T>;
}

/** The fields of GET /v1/runs/{id} the case reads (checked, not cast). */
const ToolsRun = Type.Object({
  run: Type.Object({
    status: Type.String(),
    started_at: Type.String(),
    finished_at: Type.String(),
    progress: Type.Object({ done: Type.Integer(), failed: Type.Integer() }),
    usage: Type.Object({ requests: Type.Integer() }),
    output: Type.Object({ report: Type.Object({ kept: Type.Integer(), rejected: Type.Integer(), rejected_by_stage: Type.Record(Type.String(), Type.Integer()) }) }),
  }),
});
const Posted = Type.Object({ run: Type.Object({ id: Type.String() }) });
const FakeStats = Type.Object({ requests: Type.Integer(), inFlight: Type.Integer() });

async function getJson<T extends TSchema>(what: string, res: Response | Promise<Response>, schema: T): Promise<Static<T>> {
  const r = await res;
  const body: unknown = await r.json();
  if (!Value.Check(schema, body)) throw new Error(`${what} answered ${r.status} with an unexpected body: ${JSON.stringify(body).slice(0, 500)}`);
  return body;
}

const r = (n: number | null | undefined, d = 1) => (n == null || !Number.isFinite(n) ? null : Math.round(n * 10 ** d) / 10 ** d);

/** Lifetime CPU of each Postgres backend of the bench database, by pid (the pool outlives one case). */
async function backendCpu(admin: Sql, dbName: string): Promise<Map<number, number>> {
  const rows = await admin<{ pid: number }[]>`select pid from pg_stat_activity where datname = ${dbName}`;
  return new Map(rows.map((b) => [b.pid, cpuMs(b.pid)]));
}

/** Samples the fake teacher's calls in flight every 100 ms until `until` aborts: idle slots show as a mean below the concurrency. */
async function sampleInFlight(fakeUrl: string, until: AbortSignal, out: number[]): Promise<void> {
  while (!until.aborted) {
    const stats = await getJson('the fake teacher', fetch(`${fakeUrl}/_fake/stats`), FakeStats).catch(() => undefined);
    if (stats) out.push(stats.inFlight);
    await sleep(100);
  }
}

/** Runs the case, prints its figures (a table and one JSON line) and returns PASS or BELOW TARGET. */
export async function benchTools(x: ToolsCaseContext): Promise<'PASS' | 'BELOW TARGET'> {
  const tools = JSON.parse(readFileSync(`${ROOT}tests/fixtures/tools/hdf5_tools.json`, 'utf8'));
  const body = JSON.stringify({
    tools, mode: 'auto', target_examples: x.examples, min_per_tool: 1, seed: 1,
    execution: { mode: 'simulated' }, semantic_check: { threshold: 0.6 }, regenerate: 0,
  });
  const xacts = async () => Number((await x.admin<{ n: string }[]>`select xact_commit + xact_rollback as n from pg_stat_database where datname = ${x.dbName}`)[0]?.n ?? 0);
  const xact0 = await xacts();
  const pg0 = await backendCpu(x.admin, x.dbName);
  const cpu0 = { service: cpuMs(x.svc.pid), fake: cpuMs(x.fakePid), bench: process.cpuUsage(), machine: machineBusyMs() };
  const fake0 = await getJson('the fake teacher', fetch(`${x.fakeUrl}/_fake/stats`), FakeStats);
  const posted = performance.now();
  x.svc.send('reset-lag');
  const inFlight: number[] = [];
  const runEnded = new AbortController();
  const sampling = sampleInFlight(x.fakeUrl, runEnded.signal, inFlight);
  // Prefer: wait holds the answer until the run ends: no client work in the service while it runs.
  const answer = await x.bounded(getJson('POST /v1/tools/generate', fetch(`${x.base}/v1/tools/generate`, { method: 'POST', headers: { 'content-type': 'application/json', prefer: 'wait=600' }, body }), Posted));
  const endToEndS = (performance.now() - posted) / 1000;
  runEnded.abort();
  await sampling;
  const own = await ask(x.svc, 'stats');
  const { run } = await getJson('GET /v1/runs/{id}', fetch(`${x.base}/v1/runs/${answer.run.id}`), ToolsRun);
  const fake1 = await getJson('the fake teacher', fetch(`${x.fakeUrl}/_fake/stats`), FakeStats);
  await sleep(1200); // backends flush their statistics at most once a second
  const xactsPerCall = ((await xacts()) - xact0) / run.usage.requests;
  const pg1 = await backendCpu(x.admin, x.dbName);
  const benchCpu = process.cpuUsage(cpu0.bench);
  const cpu = {
    service: cpuMs(x.svc.pid) - cpu0.service,
    postgres: [...pg1].reduce((sum, [pid, ms]) => sum + ms - (pg0.get(pid) ?? 0), 0),
    fake: cpuMs(x.fakePid) - cpu0.fake,
    bench: (benchCpu.user + benchCpu.system) / 1000,
    machine: machineBusyMs() - cpu0.machine,
  };
  const other = Math.max(0, cpu.machine - cpu.service - cpu.postgres - cpu.fake - cpu.bench);

  const { kept, rejected, rejected_by_stage } = run.output.report;
  const made = kept + rejected;
  const calls = run.usage.requests;
  const wallS = (Date.parse(run.finished_at) - Date.parse(run.started_at)) / 1000;
  const callsPerExample = calls / made;
  const boundPerS = x.concurrency / (callsPerExample * (x.latencyMs / 1000));
  const examplesPerS = made / wallS;
  const ratio = examplesPerS / boundPerS;
  const serviceMs = cpu.service / calls;
  const postgresMs = cpu.postgres / calls;
  const verdict = run.status === 'succeeded' && ratio >= x.target ? 'PASS' : 'BELOW TARGET';
  const f = {
    bench: 'tools', concurrency: x.concurrency, latency_ms: x.latencyMs, target_examples: x.examples,
    status: run.status, tasks_done: run.progress.done, tasks_failed: run.progress.failed, kept, rejected, rejected_by_stage,
    llm_calls: calls, fake_requests: fake1.requests - fake0.requests, wall_s: r(wallS, 3), end_to_end_s: r(endToEndS, 3),
    examples_per_s: r(examplesPerS, 2), kept_per_s: r(kept / wallS, 2), llm_calls_per_s: r(calls / wallS), calls_per_example: r(callsPerExample, 2),
    bound_examples_per_s: r(boundPerS, 2), ratio: r(ratio, 3),
    cpu_s: Object.fromEntries(Object.entries({ ...cpu, other }).map(([k, v]) => [k, r(v / 1000, 2)])),
    service_cpu_ms_per_call: r(serviceMs, 2), postgres_cpu_ms_per_call: r(postgresMs, 2), postgres_transactions_per_call: r(xactsPerCall, 2),
    fake_in_flight: { mean: r(inFlight.reduce((a, b) => a + b, 0) / inFlight.length), n: inFlight.length, at_zero: inFlight.filter((n) => n === 0).length }, service_loop_lag_ms: own?.lag ?? null,
    machine_load: r(cpu.machine / 1000 / (endToEndS * x.cores), 2), verdict,
  };
  const rows: Array<[string, string]> = [
    ['run', `${f.status}: ${f.tasks_done}/${x.examples} tasks done, ${f.tasks_failed} failed; ${kept} kept, ${rejected} rejected ${JSON.stringify(f.rejected_by_stage)}`],
    ['wall (started→finished)', `${f.wall_s} s   (POST→answer with Prefer: wait: ${f.end_to_end_s} s)`],
    ['examples/s', `${f.examples_per_s}   (kept ${f.kept_per_s}/s)`],
    ['teacher calls/s', `${f.llm_calls_per_s}   (${calls} calls in run usage, fake counted ${f.fake_requests})`],
    ['calls per example', `${f.calls_per_example}   (run usage ÷ examples made)`],
    ['bound', `${f.bound_examples_per_s} examples/s   (${x.concurrency} ÷ (${f.calls_per_example} calls × ${x.latencyMs} ms), each example's calls in sequence)`],
    ['ratio to bound', `${f.ratio}   (target ≥ ${x.target})`],
    ['teacher calls in flight', `${f.fake_in_flight.mean} mean of ${x.concurrency}, none in ${f.fake_in_flight.at_zero} of ${inFlight.length} samples   (the fake's count every 100 ms, POST→answer)`],
    ['service loop lag p50/p99/max', own ? `${own.lag.p50} / ${own.lag.p99} / ${own.lag.max} ms` : 'n/a'],
    ['CPU s, POST→end', `service ${f.cpu_s.service} (${f.service_cpu_ms_per_call} ms/call), postgres ${f.cpu_s.postgres} (${f.postgres_cpu_ms_per_call} ms/call), fake ${f.cpu_s.fake}, bench ${f.cpu_s.bench}, other ${f.cpu_s.other}`],
    ['CPU per call, service+postgres', `${r(serviceMs + postgresMs, 2)} ms`],
    ['Postgres transactions per call', `${f.postgres_transactions_per_call}`],
    ['machine load', `${f.machine_load} of ${x.cores} cores busy POST→end`],
  ];
  console.log(`\nQuarry tool-use bench: concurrency ${x.concurrency}, teacher latency ${x.latencyMs} ms, ${x.examples} examples (hdf5_tools.json, auto, simulated, regenerate 0)`);
  for (const [k, v] of rows) console.log(`  ${k.padEnd(30)} ${v}`);
  if (other > 0.1 * cpu.machine) console.log(`  note: other processes used ${f.cpu_s.other} of ${f.cpu_s.machine} busy CPU s during the run: noisy figures`);
  console.log(JSON.stringify(f));
  return verdict;
}
