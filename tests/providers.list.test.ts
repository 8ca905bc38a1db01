import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from './support/databases.js';
import { startHarness, type Harness } from './support/harness.js';
import { captureLog } from './support/log-capture.js';

const KEY = 'quarry-test-key';
// Every secret the service was given: none may come back.
const SECRETS = ['sk-test-openai-secret', 'sk-ant-test-secret', 'sk-vllm-secret', 'hunter2', 'query-secret'];

describe.each(DATABASES)('GET /v1/providers (%s)', (db) => {
  let h: Harness;
  const logs = captureLog();
  beforeAll(async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'quarry-providers-list-')), 'providers.yaml');
    writeFileSync(
      file,
      [
        'providers:',
        '  vllm:',
        '    kind: openai',
        '    base_url: http://gpu:hunter2@gpu-box:8000/v1?api-key=query-secret',
        '    api_key_env: VLLM_KEY',
        '    model: Qwen/Qwen3-8B',
        '    models: [Qwen/Qwen3-32B]',
        '    max_concurrency: 64',
        '    timeout_ms: 90000',
        '    max_retries: 2',
        '    pricing: { input_per_mtok: 0.1, output_per_mtok: 0.3 }',
        '    embedding_model: Qwen/Qwen3-Embedding-0.6B',
        '    embedding_pricing: { input_per_mtok: 0.02 }',
      ].join('\n'),
    );
    h = await startHarness({ db, log: logs.log, env: { PROVIDERS_FILE: file, VLLM_KEY: 'sk-vllm-secret', API_KEYS: KEY } });
  });
  afterAll(() => h?.close());

  it('lists every configured teacher with kind, base URL, default model and limits', async () => {
    const res = await request(h.url).get('/v1/providers').set('Authorization', `Bearer ${KEY}`).expect(200);
    expect(res.body.default).toBe('openai');
    const byName = Object.fromEntries(res.body.providers.map((p: { name: string }) => [p.name, p]));
    expect(Object.keys(byName).sort()).toEqual(['anthropic', 'ollama', 'openai', 'vllm']);
    expect(byName.vllm).toEqual({
      name: 'vllm',
      kind: 'openai',
      default: false,
      base_url: 'http://gpu-box:8000/v1',
      default_model: 'Qwen/Qwen3-8B',
      models: ['Qwen/Qwen3-32B'],
      api_key_env: 'VLLM_KEY',
      limits: { max_concurrency: 64, timeout_ms: 90_000, max_retries: 2, rpm: null, tpm: null, input_tpm: null, output_tpm: null },
      // Configured input/output only: cached and batch tokens bill at the online rates.
      pricing: { input_per_mtok: 0.1, output_per_mtok: 0.3, cached_input_per_mtok: 0.1, batch_input_per_mtok: 0.1, batch_output_per_mtok: 0.3, source: 'configured', matched: null, as_of: null },
      embedding_model: 'Qwen/Qwen3-Embedding-0.6B',
      embedding_pricing: { input_per_mtok: 0.02 },
    });
    // The only provider with an embedding model is what jobs embed with when they name none.
    expect(res.body.embedding).toEqual({ provider: 'vllm', model: 'Qwen/Qwen3-Embedding-0.6B' });
    expect(byName.openai.embedding_model).toBeNull();
    expect(byName.openai).toMatchObject({ kind: 'openai', default: true, base_url: h.fake.openaiBaseUrl, api_key_env: 'OPENAI_API_KEY' });
    expect(byName.anthropic).toMatchObject({ kind: 'anthropic', default: false, base_url: h.fake.anthropicBaseUrl, default_model: 'claude-sonnet-5' });
    expect(byName.ollama).toMatchObject({ kind: 'openai', base_url: 'http://localhost:11434/v1', api_key_env: null });
  });

  it('never shows a key, nor credentials or a query string in a base URL, and logs none at start', async () => {
    const res = await request(h.url).get('/v1/providers').set('Authorization', `Bearer ${KEY}`).expect(200);
    for (const secret of SECRETS) expect(res.text).not.toContain(secret);
    const ready = logs.entries().find((e) => e.msg === 'quarry ready');
    expect(ready?.providers.map((p: { name: string }) => p.name)).toContain('vllm');
    for (const secret of SECRETS) expect(logs.lines().join('\n')).not.toContain(secret);
  });

  it('is behind the API key like every /v1 route', async () => {
    const res = await request(h.url).get('/v1/providers').expect(401);
    expect(res.body.error.code).toBe('unauthorized');
    await request(h.url).get('/v1/providers').set('Authorization', 'Bearer wrong').expect(401);
  });
});
