import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeLlm } from './fake-llm/server.js';
import { loadConfig } from './config.js';
import { createQuarry } from './quarry.js';

/**
 * `npm run demo`: the whole service with the fake teacher (src/fake-llm/), so a newcomer sees a run
 * stream and export without keys or network. Every generated string says it is a placeholder.
 */
async function main() {
  const fake = await startFakeLlm({ latencyMs: [40, 160], label: '[offline placeholder] ' });
  const providersFile = join(mkdtempSync(join(tmpdir(), 'quarry-demo-')), 'providers.yaml');
  writeFileSync(
    providersFile,
    `default: offline-demo\nproviders:\n  offline-demo:\n    kind: openai\n    base_url: ${fake.openaiBaseUrl}\n    model: fake-teacher-offline-placeholder\n`,
  );
  const config = loadConfig({ ...process.env, PROVIDERS_FILE: providersFile, DEFAULT_PROVIDER: 'offline-demo', DATA_DIR: process.env.DATA_DIR ?? './data/demo' });
  const quarry = await createQuarry(config);
  await quarry.start();
  const url = await quarry.app!.listen({ port: config.port, host: config.host });
  console.log(`
  Quarry demo on ${url} — OFFLINE: the teacher is a fake LLM at ${fake.url}; its answers are placeholders.

    curl -s -X POST ${url}/v1/generate -H 'content-type: application/json' -H 'Prefer: wait=30' \\
      -d '{"documents":[{"name":"intro.md","text":"# Quarry\\n\\nQuarry turns documents into training data.\\n\\n## Runs\\n\\nA run is planned into tasks that workers claim from Postgres."}],"n_pairs":2}'
    curl -N ${url}/v1/runs/<run id>/events
    curl -s '${url}/v1/datasets/<dataset id>/export?format=chatml'

  API docs: ${url}/docs
`);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, async () => {
      await quarry.stop(1000);
      await fake.close();
      process.exit(0);
    });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
