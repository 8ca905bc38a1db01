// Runs the fake LLM as its own process for the offline demo and benchmarks; steer it over HTTP
// with POST /_fake/config and read counters from GET /_fake/stats.
import { parseArgs } from 'node:util';
import { startFakeLlm } from './server.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    latency: { type: 'string' },
    label: { type: 'string' },
    'schema-only': { type: 'boolean' },
    'batch-delay': { type: 'string' },
  },
});

/** "100" → 100, "50-200" or "50,200" → [50, 200]. */
function parseLatency(text: string | undefined): number | [number, number] | undefined {
  if (!text) return undefined;
  const parts = text.split(/[-,]/).map(Number);
  if (parts.some((n) => !Number.isFinite(n))) throw new Error(`invalid latency "${text}"`);
  return parts.length === 2 ? [parts[0], parts[1]] : parts[0];
}

const fake = await startFakeLlm({
  port: Number(values.port ?? process.env.FAKE_LLM_PORT ?? 0),
  latencyMs: parseLatency(values.latency ?? process.env.FAKE_LLM_LATENCY_MS),
  label: values.label ?? process.env.FAKE_LLM_LABEL,
  schemaOnly: values['schema-only'] ?? process.env.FAKE_LLM_SCHEMA_ONLY === '1',
  // How long a provider batch takes to end (ms); absent: the server's default.
  ...(values['batch-delay'] ?? process.env.FAKE_LLM_BATCH_DELAY_MS ? { batch: { delayMs: Number(values['batch-delay'] ?? process.env.FAKE_LLM_BATCH_DELAY_MS) } } : {}),
});
console.log(`fake-llm listening on ${fake.url}`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void fake.close().then(() => process.exit(0));
  });
}
