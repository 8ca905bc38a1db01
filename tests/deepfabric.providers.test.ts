import { readFileSync } from 'node:fs';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { startFakeLlm, type FakeLlm } from '../src/fake-llm/server.js';
import { loadProviders } from '../src/llm/providers.js';
import { DATABASES } from './support/databases.js';
import { startHarness, type Harness } from './support/harness.js';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/deepfabric/${name}`, import.meta.url), 'utf8');
const postYaml = (h: Harness, yaml: string, query = '') =>
  request(h.url).post(`/v1/pipelines${query}`).set('content-type', 'application/yaml').set('Prefer', 'wait=120').send(yaml);

describe('the provider names DeepFabric configs use, on a default install', () => {
  it('gemini and openrouter exist once their key variable is set, on their OpenAI-compatible endpoints', () => {
    const providers = loadProviders(loadConfig({ DATA_DIR: 'memory://', GEMINI_API_KEY: 'g-key', OPENROUTER_API_KEY: 'or-key', OPENAI_API_KEY: 'sk-x', ANTHROPIC_API_KEY: 'sk-ant-x' }));
    expect(providers.get('gemini')).toMatchObject({ kind: 'openai', baseUrl: 'https://generativelanguage.googleapis.com/v1beta/openai/', apiKey: 'g-key', apiKeyEnv: 'GEMINI_API_KEY' });
    expect(providers.get('openrouter')).toMatchObject({ kind: 'openai', baseUrl: 'https://openrouter.ai/api/v1', apiKey: 'or-key', apiKeyEnv: 'OPENROUTER_API_KEY' });
    expect(providers.get('openai')).toMatchObject({ kind: 'openai', baseUrl: 'https://api.openai.com/v1', apiKeyEnv: 'OPENAI_API_KEY' });
    expect(providers.get('anthropic')).toMatchObject({ kind: 'anthropic', baseUrl: 'https://api.anthropic.com', apiKeyEnv: 'ANTHROPIC_API_KEY' });
    expect(providers.get('ollama')).toMatchObject({ kind: 'openai', baseUrl: 'http://localhost:11434/v1' });
  });

  it('a *_BASE_URL variable moves the endpoint; without a key variable the provider is absent', () => {
    const providers = loadProviders(loadConfig({ DATA_DIR: 'memory://', GEMINI_API_KEY: 'g', GEMINI_BASE_URL: 'http://gw.local/gemini/v1', OPENROUTER_BASE_URL: 'http://gw.local/or/v1' }));
    expect(providers.get('gemini')?.baseUrl).toBe('http://gw.local/gemini/v1');
    expect(providers.get('openrouter')).toMatchObject({ baseUrl: 'http://gw.local/or/v1', apiKey: 'none' });
    expect(loadProviders(loadConfig({ DATA_DIR: 'memory://' })).list().map((p) => p.name)).toEqual(['ollama']);
    expect(() => loadConfig({ GEMINI_BASE_URL: 'ftp://x' })).toThrow(/GEMINI_BASE_URL/);
  });
});

describe.each(DATABASES)('DeepFabric providers through the API (%s)', (db) => {
  let fake: FakeLlm;
  let configured: Harness;
  let bare: Harness;
  beforeAll(async () => {
    fake = await startFakeLlm({ latencyMs: 1 });
    // OpenAI is unreachable here: a run that succeeds went through the provider the config names.
    configured = await startHarness({
      db,
      fakeLlm: fake,
      env: { OPENAI_BASE_URL: 'http://127.0.0.1:9/v1', GEMINI_API_KEY: 'g-key', GEMINI_BASE_URL: fake.openaiBaseUrl, OPENROUTER_API_KEY: 'or-key', OPENROUTER_BASE_URL: fake.openaiBaseUrl },
    });
    bare = await startHarness({ db, fakeLlm: fake });
  });
  afterAll(async () => {
    await configured?.close();
    await bare?.close();
    await fake?.close();
  });

  it.each([
    ['v4-basic-gemini.yaml', 'gemini-2.5-flash'],
    ['v4-basic-openrouter.yaml', 'qwen/qwen3-vl-235b-a22b-instruct'],
  ])('%s runs on the provider its key variable configured', async (file, model) => {
    fake.reset();
    const run = (await postYaml(configured, fixture(file)).expect(200)).body.run;
    expect(run.status, JSON.stringify(run.error)).toBe('succeeded');
    expect(fake.requests().map((r) => (r.body as any).model)).toContain(model);
  });

  it.each([
    ['v4-basic-gemini.yaml', ['topics.llm.provider', 'generation.llm.provider'], 'GEMINI_API_KEY'],
    ['v4-basic-openrouter.yaml', ['topics.llm.provider', 'generation.llm.provider'], 'OPENROUTER_API_KEY'],
    ['v3-basic.yaml', ['topic_tree.provider', 'data_engine.provider'], 'GEMINI_API_KEY'],
    ['llm:\n  provider: together\ntopics:\n  prompt: x\n', ['llm.provider'], 'PROVIDERS_FILE'],
  ])('%s on a server without that provider: 400 naming %j, the variable and the override', async (file, fields, variable) => {
    const res = await postYaml(bare, file.endsWith('.yaml') ? fixture(file) : file).expect(400);
    expect(res.body.error.details.map((d: any) => d.field)).toEqual(fields);
    for (const d of res.body.error.details) {
      expect(d.message).toContain(variable);
      expect(d.message).toContain('?provider=');
      expect(d.message).toContain('configured: ');
    }
    expect(res.body.error.message).toContain(fields[0]);
  });

  it('?provider= runs the config on a configured provider instead, and an unconfigured override is named as the parameter', async () => {
    fake.reset();
    const run = (await postYaml(bare, fixture('v4-basic-gemini.yaml'), '?provider=openai&num_samples=2').expect(200)).body.run;
    expect(run.status).toBe('succeeded');
    expect(run.spec.generate.llm).toMatchObject({ provider: 'openai', model: 'gemini-2.5-flash' });
    const res = await postYaml(bare, fixture('v4-basic-openai.yaml'), '?provider=gemini').expect(400);
    expect(res.body.error.details).toEqual([{ field: 'provider', message: expect.stringContaining('GEMINI_API_KEY') }]);
  });
});
