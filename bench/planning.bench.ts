// Planning bench (issue 7, item 2): posts the largest request of each kind that the limits allow
// (and a few just over them) to the embedded service — PGlite, in its own process, the worker off
// so only planning runs — and reports, per request, the time to its answer and the service's
// longest event-loop stall while it was handled (perf_hooks.monitorEventLoopDelay, in the service),
// against the 50 ms bound.
//
//   npx tsx bench/planning.bench.ts [--only <case substring>] [--cpu-prof <dir>]
// Exit code: 0 every stall under the bound, 1 some above it, 2 broken.
import { parseArgs } from 'node:util';
import { LIMITS } from '../services/limits.js';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startService, stopChild } from './procs.js';

const BOUND_MS = 50;
const { values: flags } = parseArgs({ options: { only: { type: 'string' }, 'cpu-prof': { type: 'string' } } });

interface Case {
  name: string;
  /** What the limits allow here, for the table. */
  size: string;
  request: () => { path: string; method?: string; body?: string; type?: string };
  expect: number;
}

const BODY_LIMIT = 10 * 2 ** 20;
const words = (n: number) => Array.from({ length: n }, (_, i) => `word${i % 97}`).join(' ');
/** ~10 MB of markdown whose sections split into pieces of ~90 characters at max_chunk_size 100. */
const bigDocument = () => {
  const section = (i: number) => `## Section ${i}\n\n${Array.from({ length: 40 }, (_, s) => `Sentence ${s} of section ${i} says little.`).join(' ')}\n\n`;
  let text = '';
  for (let i = 0; text.length < BODY_LIMIT - 200_000; i++) text += section(i);
  return text;
};
const ladder = (layers: number) => {
  const nodes: Record<string, unknown> = { '0': { id: 0, topic: 'root', children: [1, 2] } };
  for (let l = 0; l < layers; l++) {
    for (const k of [1, 2]) {
      const id = l * 2 + k;
      nodes[id] = { id, topic: `layer ${l} node ${k}`, children: l + 1 < layers ? [id + 2 - (k - 1), id + 3 - (k - 1)] : [] };
    }
  }
  return { nodes, root_id: 0 };
};
/** A graph of `n` nodes: a root, then each node linked from up to three earlier ones. */
const wideGraph = (n: number) => {
  const nodes: Record<string, { id: number; topic: string; children: number[] }> = {};
  for (let i = 0; i < n; i++) nodes[i] = { id: i, topic: `topic ${i}`, children: [] };
  for (let i = 1; i < n; i++) for (const p of new Set([Math.floor((i - 1) / 3), Math.floor(i / 7), Math.floor(i / 2) - 1].filter((p) => p >= 0 && p < i))) nodes[p].children.push(i);
  return { nodes, root_id: 0 };
};
const treeJsonl = (leaves: number) => Array.from({ length: leaves }, (_, i) => JSON.stringify({ path: ['root', `branch ${i % 300}`, `leaf ${i}`] })).join('\n');
const records = (n: number) => Array.from({ length: n }, (_, i) => JSON.stringify({ question: `Q${i}?`, answer: `A${i % 13}` })).join('\n');
const seeds = (n: number) => Array.from({ length: n }, (_, i) => ({ document: `# Doc ${i}\n\n${words(40)}`, document_outline: `Doc ${i}`, domain: 'bench', icl_document: 'x', icl_query_1: 'y?' }));
const json = (path: string, body: unknown) => ({ path, body: JSON.stringify(body), type: 'application/json' });
const yamlKeys = (bytes: number) => {
  let s = 'topics:\n  prompt: x\n';
  for (let i = 0; s.length < bytes; i++) s += `  k${i}: ${i}\n`;
  return s;
};

/** The service's figures over IPC; waits as long as a stalled service needs to answer. */
function stats(child: ChildProcess): Promise<{ lag: { max: number } }> {
  return new Promise((resolve) => {
    const onMessage = (m: any) => {
      if (m?.type !== 'stats') return;
      child.off('message', onMessage);
      resolve(m);
    };
    child.on('message', onMessage);
    child.send('stats');
  });
}

const ids: Record<string, string> = {};
const cases: Case[] = [
  { name: 'generate documents, max_chunks', size: `10 MB, max_chunk_size 100 → ${LIMITS.tasksPerRun} tasks`, expect: 202, request: () => json('/v1/generate', { documents: [{ name: 'big.md', text: bigDocument() }], max_chunk_size: 100, min_chunk_size: 60, overlap: 10, n_pairs: 1, max_chunks: LIMITS.tasksPerRun }) },
  { name: 'generate documents, too many chunks', size: `10 MB at max_chunk_size 100, min 99, overlap 98 → > ${LIMITS.sourceChunks} chunks`, expect: 400, request: () => json('/v1/generate', { documents: [{ name: 'big.md', text: bigDocument() }], max_chunk_size: 100, min_chunk_size: 99, overlap: 98 }) },
  { name: 'generate random strategy', size: '1,000 samples × 100 chunks', expect: 202, request: () => json('/v1/generate', { documents: [{ name: 'big.md', text: bigDocument() }], max_chunk_size: 100, min_chunk_size: 60, overlap: 10, n_pairs: 1, strategy: { type: 'random', num_samples: 1000, chunks_per_sample: 100, seed: 1 } }) },
  { name: 'generate inline topics, num_samples max', size: `${LIMITS.numSamples} samples, 2 KB system_prompt`, expect: 202, request: () => json('/v1/generate', { topics: [['Postgres', 'Indexes'], ['Postgres', 'Vacuum']], num_samples: LIMITS.numSamples, system_prompt: 'x'.repeat(2000) }) },
  { name: 'generate num_samples "10000000000%"', size: 'over the percentage bound', expect: 400, request: () => json('/v1/generate', { topics: [['a', 'b']], num_samples: '10000000000%' }) },
  { name: 'import tree JSONL', size: `${LIMITS.importNodes - 301} topics`, expect: 201, request: () => ({ path: '/v1/topics/import', body: treeJsonl(LIMITS.importNodes - 301), type: 'application/x-ndjson' }) },
  { name: 'GET imported tree', size: `${LIMITS.pathsDefault} of ${LIMITS.importNodes - 301} paths`, expect: 200, request: () => ({ path: `/v1/topics/${ids.tree}`, method: 'GET' }) },
  { name: 'generate from imported tree, auto', size: `${LIMITS.importNodes - 301} leaves`, expect: 202, request: () => json('/v1/generate', { topics_id: ids.tree, task: 'qa' }) },
  { name: 'import wide graph', size: `${LIMITS.importNodes} nodes`, expect: 201, request: () => json('/v1/topics/import', wideGraph(LIMITS.importNodes)) },
  { name: 'GET wide graph', size: 'path_count by DP, 1,000 listed', expect: 200, request: () => ({ path: `/v1/topics/${ids.graph}`, method: 'GET' }) },
  { name: 'generate from wide graph, max', size: `${LIMITS.numSamples} samples`, expect: 202, request: () => json('/v1/generate', { topics_id: ids.graph, num_samples: LIMITS.numSamples }) },
  { name: 'import ladder graph (24 layers)', size: '3 KB, 2^24 paths', expect: 201, request: () => json('/v1/topics/import', ladder(24)) },
  { name: 'GET ladder graph', size: '1,000 of 2^24 paths', expect: 200, request: () => ({ path: `/v1/topics/${ids.ladder}`, method: 'GET' }) },
  { name: 'GET ladder graph as jsonl', size: `${LIMITS.pathsMax} paths`, expect: 200, request: () => ({ path: `/v1/topics/${ids.ladder}?format=jsonl`, method: 'GET' }) },
  { name: 'generate from ladder graph', size: '48 unique topics', expect: 202, request: () => json('/v1/generate', { topics_id: ids.ladder, task: 'qa' }) },
  { name: 'import dataset (setup)', size: '200,000 records', expect: 201, request: () => ({ path: '/v1/datasets?name=bench', body: records(200_000), type: 'application/x-ndjson' }) },
  { name: 'enrich dataset, batch_size 2', size: '200,000 records → 100,000 tasks', expect: 202, request: () => json('/v1/enrich', { dataset_id: ids.dataset, batch_size: 2 }) },
  { name: 'curate dataset, dedup, batch_size 2', size: '200,000 records, exact + near dedup', expect: 202, request: () => json('/v1/curate', { dataset_id: ids.dataset, batch_size: 2, dedup: { exact: true, near: 0.9 } }) },
  { name: 'knowledge, 5,000 seeds', size: '100,000 tasks in all', expect: 202, request: () => json('/v1/generate', { task: 'knowledge', seed_records: seeds(5000) }) },
  { name: 'topics graph 10^5', size: 'degree 10, depth 5', expect: 202, request: () => json('/v1/topics', { prompt: 'x', mode: 'graph', degree: 10, depth: 5 }) },
  { name: 'DeepFabric YAML 64 KiB of keys', size: `${LIMITS.yamlBytes / 1024} KiB`, expect: 400, request: () => ({ path: '/v1/pipelines', body: yamlKeys(LIMITS.yamlBytes - 64), type: 'application/yaml' }) },
  { name: 'DeepFabric YAML 50,000 keys', size: '~0.6 MB, over the bound', expect: 400, request: () => ({ path: '/v1/pipelines', body: yamlKeys(650_000), type: 'application/yaml' }) },
  { name: 'DeepFabric ?num_samples=10000000000%', size: 'over the percentage bound', expect: 400, request: () => ({ path: '/v1/pipelines?num_samples=10000000000%25', body: 'topics:\n  prompt: x\n  mode: tree\n', type: 'application/yaml' }) },
];

// The embedded database as `npm start` runs it: PGlite on files (memory:// would keep every table in
// WebAssembly memory, whose growth copies it and stalls the loop in a way a real service does not).
const dataDir = mkdtempSync(join(tmpdir(), 'quarry-planning-'));
const service = await startService({ DATA_DIR: dataDir, WORKER_CONCURRENCY: '0', OPENAI_BASE_URL: 'http://127.0.0.1:9/v1', OPENAI_API_KEY: 'sk-bench', DEFAULT_PROVIDER: 'openai', LOG_LEVEL: 'warn', API_KEYS: '', PROVIDERS_FILE: '', PORT: '0' }, flags['cpu-prof']);
const rows: Array<Record<string, unknown>> = [];
let exit = 0;
try {
  for (const c of cases) {
    if (flags.only && !c.name.includes(flags.only) && !c.name.includes('setup') && !c.name.startsWith('import')) continue;
    const req = c.request();
    service.child.send('reset-lag');
    await stats(service.child); // the reset has landed before the clock starts
    const t0 = performance.now();
    const res = await fetch(`${service.url}${req.path}`, { method: req.method ?? 'POST', headers: req.type ? { 'content-type': req.type } : {}, body: req.body });
    const text = await res.text();
    const ms = performance.now() - t0;
    const lag = (await stats(service.child)).lag.max;
    const body = (() => { try { return JSON.parse(text); } catch { return undefined; } })();
    if (c.name.startsWith('import tree')) ids.tree = body?.topics?.id;
    if (c.name.startsWith('import wide')) ids.graph = body?.topics?.id;
    if (c.name.startsWith('import ladder')) ids.ladder = body?.topics?.id;
    if (c.name.startsWith('import dataset')) ids.dataset = body?.dataset?.id;
    const detail = res.status >= 400 ? body?.error?.details?.[0]?.field : body?.run ? `${body.run.progress.total} tasks` : body?.topics?.path_count !== undefined ? `path_count ${body.topics.path_count}, listed ${body.topics.paths.length}` : `${(text.length / 2 ** 20).toFixed(1)} MiB`;
    const ok = res.status === c.expect;
    // Setup steps (a dataset import for enrich and curate) are not planning and not this bench's subject.
    if (!ok || (lag > BOUND_MS && !c.name.includes('setup'))) exit = Math.max(exit, ok ? 1 : 2);
    rows.push({ case: c.name, size: c.size, status: res.status, ok, detail, ms: Math.round(ms), max_lag_ms: lag, ratio: Math.round((lag / BOUND_MS) * 100) / 100 });
    console.log(`${ok ? ' ' : '!'} ${c.name.padEnd(40)} ${String(res.status).padEnd(4)} ${String(Math.round(ms)).padStart(6)} ms  max stall ${String(lag).padStart(7)} ms (${(lag / BOUND_MS).toFixed(2)} × 50 ms)  ${detail ?? ''}`);
  }
} catch (err) {
  console.error(err);
  exit = 2;
} finally {
  await stopChild(service.child, () => service.child.send('stop'), 30_000);
  rmSync(dataDir, { recursive: true, force: true });
}
console.log(`load average at the end: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')} (figures are wall-clock; other processes on the machine stretch them)`);
console.log(JSON.stringify({ bench: 'planning', bound_ms: BOUND_MS, rows }));
process.exit(exit);
