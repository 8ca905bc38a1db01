import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeLlm, type FakeLlm } from '../src/fake-llm/server.js';
import { runCli } from './support/cli.js';
import { DATABASES } from './support/databases.js';
import { markdownDoc, startHarness, type Harness } from './support/harness.js';

/** A DeepFabric v3 config, as `quarry pipeline config.yaml` takes it. */
const DEEPFABRIC = `
dataset_system_prompt: "You are a helpful assistant."
topic_tree:
  topic_prompt: "Kubernetes operations"
  provider: openai
  model: gpt-tree
  degree: 2
  depth: 1
  save_as: tree.json
data_engine:
  generation_system_prompt: "You write operator conversations."
  provider: openai
  model: gpt-gen
  conversation_type: basic
dataset:
  creation:
    num_steps: 2
    batch_size: 1
    sys_msg: false
  save_as: k8s.jsonl
`;

describe.each(DATABASES)('quarry CLI: pipelines, budgets, export (%s)', (db) => {
  let h: Harness;
  let dir: string;
  let env: Record<string, string>;
  let fake: FakeLlm;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'quarry-cli-pipeline-'));
    fake = await startFakeLlm({ latencyMs: 100 });
    const providers = join(dir, 'providers.yaml');
    // Dear enough that the first task crosses a budget of a millionth of a dollar.
    writeFileSync(providers, ['providers:', `  dear: { kind: openai, base_url: "${fake.openaiBaseUrl}", model: m, pricing: { input_per_mtok: 100, output_per_mtok: 100 } }`].join('\n'));
    h = await startHarness({ db, fakeLlm: fake, env: { PROVIDERS_FILE: providers } });
    env = { QUARRY_URL: h.url };
  });
  afterAll(async () => {
    await h?.close();
    await fake?.close();
  });

  it('pipeline config.yaml runs a DeepFabric config, prints a line per stage and downloads the export', async () => {
    const config = join(dir, 'config.yaml');
    writeFileSync(config, DEEPFABRIC);
    const out = join(dir, 'k8s.jsonl');
    const res = await runCli(['pipeline', config, '--follow', '--out', out, '--format', 'chatml'], env);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toMatch(/ pipeline succeeded \| /);
    expect(res.stderr).toMatch(/^ {2}stage topics succeeded \| records \d+/m);
    expect(res.stderr).toMatch(/^ {2}stage generate succeeded \| records \d+/m);
    const run = (await request(h.url).get(`/v1/runs/${res.stdout.trim()}`).expect(200)).body.run;
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    expect(lines.length).toBe((await request(h.url).get(`/v1/datasets/${run.output.dataset_id}`).expect(200)).body.dataset.record_count);
    expect(JSON.parse(lines[0]).messages.length).toBeGreaterThanOrEqual(2);

    // quarry export writes the same dataset in another format.
    const again = join(dir, 'again.jsonl');
    const exported = await runCli(['export', run.output.dataset_id, '--format', 'jsonl', '--out', again], env);
    expect(exported.code, exported.stderr).toBe(0);
    expect(readFileSync(again, 'utf8').trim().split('\n')).toHaveLength(lines.length);
    const badFormat = await runCli(['export', run.output.dataset_id, '--format', 'csv', '--out', again], env);
    expect(badFormat.code).toBe(2);
  });

  it('a run stopped by max_cost_usd exits 5', async () => {
    const spec = join(dir, 'budget.json');
    // The first commit crosses the budget; a run whose every task had started by then would rightly succeed. So more
    // tasks than a worker can take before that commit lands (8 slots, 2 prefetched; it stops claiming at 32 uncommitted).
    writeFileSync(spec, JSON.stringify({ documents: [markdownDoc('budget.md', 80, 40)], n_pairs: 1, llm: { provider: 'dear' } }));
    const res = await runCli(['generate', spec, '--set', 'max_cost_usd=0.000001', '--follow'], env);
    expect(res.code, res.stderr).toBe(5);
    expect(res.stderr).toMatch(/error budget_exceeded/);
  });
});
