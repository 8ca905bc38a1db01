import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './support/harness.js';

const V4 = `
llm:
  provider: openai
  model: gpt-test
  temperature: 0.7
topics:
  prompt: "Python programming fundamentals"
  mode: tree
  depth: 2
  degree: 2
  save_as: topics.jsonl
generation:
  system_prompt: "Generate clear, educational conversations."
  instructions: "Include working code."
  conversation:
    type: cot
    reasoning_style: freetext
  max_retries: 2
output:
  system_prompt: "You are a helpful Python tutor."
  include_system_message: true
  num_samples: 6
  batch_size: 2
  save_as: dataset.jsonl
`;

const V3 = `
dataset_system_prompt: "You are a helpful assistant."
topic_graph:
  topic_prompt: "Kubernetes operations"
  provider: openai
  model: gpt-graph
  temperature: 0.6
  degree: 2
  depth: 2
  save_as: graph.json
data_engine:
  generation_system_prompt: "You write operator conversations."
  instructions: "Be concrete."
  provider: openai
  model: gpt-gen
  conversation_type: basic
dataset:
  creation:
    num_steps: 3
    batch_size: 2
    sys_msg: false
  save_as: k8s.jsonl
`;

describe('DeepFabric configs as pipelines', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ db: 'pglite', fake: { latencyMs: 2 } });
  });
  afterAll(() => h?.close());

  const post = (yaml: string, query = '') => request(h.url).post(`/v1/pipelines${query}`).set('content-type', 'application/yaml').set('Prefer', 'wait=60').send(yaml);
  const records = async (id: string) => (await request(h.url).get(`/v1/datasets/${id}/records?limit=1000`).expect(200)).body.records.map((r: any) => r.data);

  it('runs a v4 config as topics → generate → export', async () => {
    h.fake.reset();
    const run = (await post(V4).expect(200)).body.run;
    expect(run).toMatchObject({ kind: 'pipeline', status: 'succeeded' });
    expect(run.output.report.deepfabric).toEqual({ layout: 'v4', ignored: ['topics.save_as', 'output.save_as'] });
    expect(run.output.report.stages.map((s: any) => [s.kind, s.status])).toEqual([['topics', 'succeeded'], ['generate', 'succeeded']]);
    const data = await records(run.output.dataset_id);
    expect(data).toHaveLength(6);
    // 6 samples over 4 leaf paths: the topics cycle.
    expect(new Set(data.map((r: any) => r.topic_path.join('/'))).size).toBe(4);
    expect(data[0].messages[0]).toEqual({ role: 'system', content: 'Generate clear, educational conversations.' });
    expect(data[0].reasoning.style).toBe('freetext');
    expect(run.links.export).toContain('system_prompt=You+are+a+helpful+Python+tutor.');
    expect(run.output.topics_id).toMatch(/^tp_/);
    const models = new Set(h.fake.requests().map((r) => (r.body as any).model));
    expect(models).toEqual(new Set(['gpt-test']));
  });

  it('applies overrides to a v4 config: num_samples, temperature, mode, depth', async () => {
    h.fake.reset();
    const run = (await post(V4, '?num_samples=3&temperature=0.2&mode=graph&depth=1').expect(200)).body.run;
    expect(run.status).toBe('succeeded');
    const topics = JSON.parse((await request(h.url).get(`/v1/topics/${run.output.topics_id}`).expect(200)).text).topics;
    expect(topics).toMatchObject({ mode: 'graph', depth: 1, temperature: 0.2 });
    expect(await records(run.output.dataset_id)).toHaveLength(3);
    expect(new Set(h.fake.requests().map((r) => (r.body as any).temperature))).toEqual(new Set([0.2]));
  });

  it('runs a v3 config with overrides: provider model, degree, depth, num_steps, sys_msg, mode', async () => {
    h.fake.reset();
    const run = (await post(V3, '?model=gpt-override&degree=3&depth=1&num_steps=2&batch_size=2&sys_msg=true&mode=tree').expect(200)).body.run;
    expect(run.status).toBe('succeeded');
    expect(run.output.report.deepfabric.layout).toBe('v3');
    const stages = run.output.report.stages;
    const topics = JSON.parse((await request(h.url).get(`/v1/topics/${run.output.topics_id}`).expect(200)).text).topics;
    expect(topics).toMatchObject({ mode: 'tree', degree: 3, depth: 1, prompt: 'Kubernetes operations', model: 'gpt-override' });
    expect(topics.paths).toHaveLength(3);
    const data = await records(stages[1].dataset_id);
    expect(data).toHaveLength(4);
    expect(data[0].messages[0]).toEqual({ role: 'system', content: 'You write operator conversations.' });
    expect(new Set(h.fake.requests().map((r) => (r.body as any).model))).toEqual(new Set(['gpt-override']));
  });

  it('a v3 config without overrides builds its graph and num_steps × batch_size samples', async () => {
    const run = (await post(V3).expect(200)).body.run;
    expect(run.status).toBe('succeeded');
    const topics = JSON.parse((await request(h.url).get(`/v1/topics/${run.output.topics_id}`).expect(200)).text).topics;
    expect(topics).toMatchObject({ mode: 'graph', model: 'gpt-graph' });
    expect(await records(run.output.dataset_id)).toHaveLength(6);
  });

  it.each([
    ['topics:\n  prompt: x\n  colour: blue\n', 'topics.colour', 'not a DeepFabric setting'],
    ['llm:\n  base_url: http://localhost:8000\ntopics:\n  prompt: x\n', 'llm.base_url', 'PROVIDERS_FILE'],
    ['topics:\n  prompt: x\ngeneration:\n  tools:\n    max_per_query: 3\n', 'generation.tools', 'not supported'],
    ['topics:\n  prompt: x\ngeneration:\n  conversation:\n    type: cot\n    reasoning_style: agent\n', 'generation.conversation.reasoning_style', 'agent'],
    ['topic_tree:\n  topic_prompt: x\ntopic_graph:\n  topic_prompt: y\n', 'topic_graph', 'not both'],
    ['topics:\n  prompt: x\ntopic_tree:\n  topic_prompt: y\n', 'body', 'mixed'],
    ['hello: world\n', 'body', 'unknown layout'],
    ['topics: [unclosed\n', 'body', ''],
    ['topics:\n  mode: tree\n', 'topics.prompt', 'required'],
    ['topics:\n  prompt: x\n  degree: 0\n', 'topics.degree', ''],
    ['topic_tree:\n  topic_prompt: x\ndataset:\n  formatters:\n    - name: chatml\n', 'dataset.formatters', 'export'],
  ])('rejects %j naming %s', async (yaml, field, text) => {
    const res = await post(yaml).expect(400);
    const detail = res.body.error.details.find((d: any) => d.field === field);
    expect(detail, JSON.stringify(res.body.error)).toBeDefined();
    expect(detail.message).toContain(text);
  });

  it('rejects conflicting and unknown overrides, and overrides on a JSON pipeline', async () => {
    expect((await post(V4, '?num_samples=5&num_steps=2').expect(400)).body.error.details[0].field).toBe('num_steps');
    expect((await post(V4, '?colour=blue').expect(400)).body.error.details[0].field).toBe('colour');
    expect((await post(V4, '?mode=forest').expect(400)).body.error.details[0].field).toBe('mode');
    const json = await request(h.url).post('/v1/pipelines?degree=3').send({ topics: { prompt: 'x' } }).expect(400);
    expect(json.body.error.details[0]).toMatchObject({ field: 'degree', message: 'only with a DeepFabric YAML config' });
  });

  it('builds topics only, like --topic-only', async () => {
    const run = (await request(h.url).post('/v1/pipelines').set('Prefer', 'wait=30').send({ topics: { prompt: 'Rust', degree: 2, depth: 1 } }).expect(200)).body.run;
    expect(run.status).toBe('succeeded');
    expect(run.output.topics_id).toMatch(/^tp_/);
    expect(run.output.report.stages.map((s: any) => s.kind)).toEqual(['topics']);
  });
});
