// What one teacher call costs the caller's CPU before Quarry does anything with the answer: the
// floor under the service's CPU per call. The fake teacher runs in its own process (100 ms
// latency); this process makes the calls through
//   - quarry-openai / quarry-anthropic: Quarry's own adapters (the official SDK over the provider fetch),
//   - undici: a bare undici.request + JSON.parse, the least any Node HTTP client can spend,
// and prints CPU milliseconds per call (user + system of this process, after a warm-up wave).
//
//   npx tsx bench/teacher-client.bench.ts [--calls 6000] [--concurrency 64]
import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';
import { anthropicAdapter } from '../src/llm/anthropic.adapter.js';
import type { TeacherCall } from '../src/llm/middleware.js';
import { openaiAdapter } from '../src/llm/openai.adapter.js';
import type { Provider } from '../src/llm/providers.js';
import type { TeacherRequest } from '../src/llm/teacher-request.js';
import { startFake, stopChild } from './procs.js';

/** The service's whole budget per call (issue 9), to put each client's floor against. */
const SERVICE_AND_POSTGRES_TARGET_MS = 0.6;

const { values: flags } = parseArgs({ options: { calls: { type: 'string' }, concurrency: { type: 'string' } } });
const calls = Number(flags.calls ?? 6000);
const concurrency = Number(flags.concurrency ?? 64);
if (!Number.isInteger(calls) || calls < 1 || !Number.isInteger(concurrency) || concurrency < 1) throw new Error('--calls and --concurrency must be positive integers');

// The shape of a QA task's request: a system prompt, a passage, a strict JSON answer schema.
const req: TeacherRequest = {
  system: 'You write question-answer pairs grounded in the passage. '.repeat(8),
  messages: [{ role: 'user', content: `Passage:\n${'The HDF5 library stores datasets in chunks and compresses each one. '.repeat(20)}` }],
  response: {
    name: 'qa_pairs',
    schema: { type: 'object', additionalProperties: false, required: ['pairs'], properties: { pairs: { type: 'array', items: { type: 'object', additionalProperties: false, required: ['question', 'answer'], properties: { question: { type: 'string' }, answer: { type: 'string' } } } } } },
  },
  temperature: 0.7,
  max_tokens: 1024,
};

const fake = await startFake(100);
const provider = (kind: Provider['kind']): Provider => ({
  name: kind, kind, baseUrl: kind === 'openai' ? `${fake.url}/v1` : fake.url, apiKey: 'bench', defaultModel: 'bench-model',
  maxConcurrency: concurrency, timeoutMs: 60_000, maxRetries: 2, pricing: { input_per_mtok: 0, output_per_mtok: 0 },
});
const viaAdapter = (call: TeacherCall, kind: Provider['kind']) => () => call({ provider: provider(kind), model: 'bench-model', request: req, cache: 'off', mode: 'online' }, new AbortController().signal);
const dispatcher = new Agent({ connections: concurrency, keepAliveTimeout: 30_000 });
const openaiBody = JSON.stringify({ model: 'bench-model', messages: [{ role: 'system', content: req.system }, ...req.messages], temperature: 0.7, max_tokens: 1024, response_format: { type: 'json_schema', json_schema: { name: 'qa_pairs', schema: req.response!.schema, strict: true } } });
const bare = async () => {
  const res = await request(`${fake.url}/v1/chat/completions`, { method: 'POST', dispatcher, headers: { 'content-type': 'application/json', authorization: 'Bearer bench' }, body: openaiBody });
  return JSON.parse(await res.body.text());
};

const clients: Array<[string, () => Promise<unknown>]> = [
  ['quarry-openai', viaAdapter(openaiAdapter(provider('openai')), 'openai')],
  ['quarry-anthropic', viaAdapter(anthropicAdapter(provider('anthropic')), 'anthropic')],
  ['undici', bare],
];

async function wave(call: () => Promise<unknown>, n: number): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next++ < n) await call();
  }));
}

console.log(`\nTeacher client CPU per call: ${calls} calls, concurrency ${concurrency}, fake teacher at 100 ms in its own process`);
const results: Record<string, { cpu_ms_per_call: number; calls_per_s: number }> = {};
try {
  for (const [name, call] of clients) {
    await wave(call, concurrency * 2); // warm-up: connections open, code optimised
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await wave(call, calls);
    const cpu = process.cpuUsage(cpu0);
    const perCall = (cpu.user + cpu.system) / 1000 / calls;
    results[name] = { cpu_ms_per_call: Math.round(perCall * 1000) / 1000, calls_per_s: Math.round(calls / ((performance.now() - t0) / 1000)) };
    console.log(`  ${name.padEnd(18)} ${perCall.toFixed(3)} ms CPU/call   (${(perCall / SERVICE_AND_POSTGRES_TARGET_MS).toFixed(2)} of the ${SERVICE_AND_POSTGRES_TARGET_MS} ms service+Postgres target)   ${results[name].calls_per_s} calls/s`);
  }
  console.log(JSON.stringify({ bench: 'teacher-client', calls, concurrency, target_ms: SERVICE_AND_POSTGRES_TARGET_MS, results }));
} finally {
  await dispatcher.close();
  await stopChild(fake.child, () => fake.child.kill('SIGTERM'), 3000);
}
