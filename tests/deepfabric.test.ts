import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from './support/databases.js';
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

describe.each(DATABASES)('DeepFabric configs as pipelines (%s)', (db) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ db, fake: { latencyMs: 2 } });
  });
  afterAll(() => h?.close());

  const post = (yaml: string, query = '') => request(h.url).post(`/v1/pipelines${query}`).set('content-type', 'application/yaml').set('Prefer', 'wait=60').send(yaml);
  const records = async (id: string) => (await request(h.url).get(`/v1/datasets/${id}/records?limit=1000`).expect(200)).body.records.map((r: any) => r.data);

  it('runs a v4 config as topics → generate → export', async () => {
    h.fake.reset();
    const run = (await post(V4).expect(200)).body.run;
    expect(run).toMatchObject({ kind: 'pipeline', status: 'succeeded' });
    expect(run.output.report.deepfabric).toMatchObject({ layout: 'v4', ignored: ['topics.save_as', 'output.save_as'] });
    expect(run.output.report.deepfabric.notes['output.save_as']).toContain('links.export');
    expect(run.output.report.stages.map((s: any) => [s.kind, s.status])).toEqual([['topics', 'succeeded'], ['generate', 'succeeded']]);
    const data = await records(run.output.dataset_id);
    expect(data).toHaveLength(6);
    // 6 samples over 4 leaf paths: the topics cycle.
    expect(new Set(data.map((r: any) => r.topic_path.join('/'))).size).toBe(4);
    // output.system_prompt is the records' system message; generation.system_prompt only steers the teacher.
    expect(data.every((r: any) => r.messages[0].role === 'system' && r.messages[0].content === 'You are a helpful Python tutor.')).toBe(true);
    expect(h.fake.requests().filter((r) => JSON.stringify(r.body).includes('Include working code.')).every((r) => JSON.stringify(r.body).includes('Generate clear, educational conversations.'))).toBe(true);
    expect(JSON.stringify(data)).not.toContain('Generate clear, educational conversations.');
    expect(data[0].reasoning.style).toBe('freetext');
    // The records carry the system message already: the export link adds none.
    expect(run.links.export).not.toContain('system_prompt');
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
    // ?sys_msg=true puts the dataset system prompt in, never the generation instruction.
    expect(data.every((r: any) => r.messages[0].role === 'system' && r.messages[0].content === 'You are a helpful assistant.')).toBe(true);
    expect(new Set(h.fake.requests().map((r) => (r.body as any).model))).toEqual(new Set(['gpt-override']));
  });

  it('a v3 config without overrides builds its graph and num_steps × batch_size samples', async () => {
    const run = (await post(V3).expect(200)).body.run;
    expect(run.status).toBe('succeeded');
    const topics = JSON.parse((await request(h.url).get(`/v1/topics/${run.output.topics_id}`).expect(200)).text).topics;
    expect(topics).toMatchObject({ mode: 'graph', model: 'gpt-graph' });
    const data = await records(run.output.dataset_id);
    expect(data).toHaveLength(6);
    // sys_msg: false — no system message in the records, and none added by the export link.
    expect(data.some((r: any) => r.messages.some((m: any) => m.role === 'system'))).toBe(false);
    expect(run.links.export).not.toContain('system_prompt');
    const exported = (await request(h.url).get(run.links.export).expect(200)).text.trim().split('\n').map((l) => JSON.parse(l));
    expect(exported.some((l: any) => l.messages.some((m: any) => m.role === 'system'))).toBe(false);
  });

  it.each([
    ['topics:\n  prompt: x\n  colour: blue\n', 'topics.colour', 'not a DeepFabric setting'],
    ['llm:\n  base_url: http://localhost:8000\ntopics:\n  prompt: x\n', 'llm.base_url', 'PROVIDERS_FILE'],
    ['topics:\n  prompt: x\ngeneration:\n  tools:\n    max_per_query: 3\n', 'generation.tools.components', 'name the tools'],
    ['topics:\n  prompt: x\ngeneration:\n  tools:\n    components:\n      slack: [send_message]\n', 'generation.tools.components.slack', 'Spin WASM module'],
    ['topics:\n  prompt: x\ngeneration:\n  tools:\n    custom:\n      - name: t\n', 'generation.tools.custom', 'tools_id'],
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

  it.each([
    ['topics:\n  prompt: x\n  mode: forest\n', 'topics.mode', 'tree, graph'],
    ['topics:\n  prompt: x\ngeneration:\n  conversation:\n    type: cot\n    reasoning_style: bogus\n', 'generation.conversation.reasoning_style', 'freetext or structured'],
    ['topics:\n  prompt: x\ngeneration:\n  conversation:\n    type: basic\n    reasoning_style: freetext\n', 'generation.conversation.reasoning_style', 'type cot'],
    ['topics:\n  prompt: x\ngeneration:\n  conversation:\n    type: cot\n    reasoning_style: hybrid\n', 'generation.conversation.reasoning_style', 'hybrid'],
    ['topics:\n  prompt: x\noutput:\n  num_samples: lots\n', 'output.num_samples', '"auto"'],
    ['topics:\n  prompt: x\noutput:\n  num_samples: 200000\n', 'output.num_samples', '100,000'],
    ['topic_tree:\n  topic_prompt: x\ndataset:\n  creation:\n    num_steps: 50000\n    batch_size: 5\n', 'dataset.creation.num_steps', '250,000 samples'],
    ['topics:\n  prompt: x\noutput:\n  include_system_message: "yes"\n', 'output.include_system_message', 'true or false'],
    ['llm:\n  temperature: hot\ntopics:\n  prompt: x\n', 'llm.temperature', ''],
    ['topics:\n  prompt: x\n  mode: graph\n  depth: 6\n', 'topics.depth', 'at most'],
    ['topic_tree:\n  topic_prompt: x\n  degree: 0\n', 'topic_tree.degree', ''],
    ['topic_graph:\n  topic_prompt: x\n  depth: 6\n', 'topic_graph.depth', 'at most'],
    ['topic_tree:\n  topic_prompt: x\ndata_engine:\n  conversation_type: cot_hybrid\n', 'data_engine.conversation_type', 'hybrid'],
    ['topic_tree:\n  topic_prompt: x\ndata_engine:\n  conversation_type: dialogue\n', 'data_engine.conversation_type', 'basic or cot'],
    ['topic_tree:\n  topic_prompt: x\ndata_engine:\n  max_tools_per_query: 3\n', 'data_engine.max_tools_per_query', 'agent mode'],
    ['topic_tree:\n  topic_prompt: x\ndataset:\n  creation:\n    num_steps: 0\n', 'dataset.creation.num_steps', ''],
  ])('names the setting of %j, never an internal message', async (yaml, field, text) => {
    const res = await post(yaml).expect(400);
    expect(res.body.error.details.map((d: any) => d.field), JSON.stringify(res.body.error)).toContain(field);
    expect(res.body.error.details.find((d: any) => d.field === field).message).toContain(text);
    expect(JSON.stringify(res.body.error)).not.toMatch(/union|generate\.|Expected object/);
  });

  it('runs with uploads, evaluation, checkpoints and retry tuning ignored, each with a note', async () => {
    const yaml = `${V4}  checkpoint:\n    interval: 10\n${['evaluation:\n  conversation_type: basic', 'huggingface:\n  repository: me/ds', 'kaggle:\n  handle: me/ds', 'deepfabric_cloud:\n  dataset: me/ds'].join('\n')}\n`
      .replace('  max_retries: 2\n', '  max_retries: 2\n  sample_retries: 2\n  save_as: samples.jsonl\n  rate_limit:\n    max_retries: 7\n    base_delay: 3.0\n  request_timeout: 60\n')
      .replace('  save_as: topics.jsonl\n', '  save_as: topics.jsonl\n  max_concurrent: 4\n');
    const run = (await post(yaml, '?num_samples=2').expect(200)).body.run;
    expect(run.status).toBe('succeeded');
    const { ignored, notes } = run.output.report.deepfabric;
    const expected = ['topics.max_concurrent', 'generation.sample_retries', 'generation.save_as', 'generation.rate_limit', 'generation.request_timeout', 'output.checkpoint', 'evaluation', 'huggingface', 'kaggle', 'deepfabric_cloud'];
    expect(ignored).toEqual(expect.arrayContaining(expected));
    for (const field of ignored) expect(notes[field]?.length, field).toBeGreaterThan(20);
    expect(notes.huggingface).toContain('uploads');
    expect(notes['generation.rate_limit']).toContain('timeout');
  });

  it('a config without a dataset system prompt writes no system message, and the report says why', async () => {
    const yaml = V4.replace('  system_prompt: "You are a helpful Python tutor."\n', '');
    const run = (await post(yaml, '?num_samples=2').expect(200)).body.run;
    expect(run.status).toBe('succeeded');
    const data = await records(run.output.dataset_id);
    expect(data.some((r: any) => r.messages[0].role === 'system')).toBe(false);
    expect(run.output.report.deepfabric.notes['output.system_prompt']).toContain('generation.system_prompt');
    // ?sys_msg=false on a config that has one leaves it out too.
    const off = (await post(V4, '?num_samples=2&sys_msg=false').expect(200)).body.run;
    expect((await records(off.output.dataset_id)).some((r: any) => r.messages[0].role === 'system')).toBe(false);
    expect(off.links.export).not.toContain('system_prompt');
  });

  it('cot without a reasoning_style writes free-text reasoning and says so; a v2 domain hint is ignored with a note', async () => {
    const run = (await post(V4.replace('    reasoning_style: freetext\n', ''), '?num_samples=2').expect(200)).body.run;
    expect(run.status).toBe('succeeded');
    expect(run.output.report.deepfabric.notes['generation.conversation.reasoning_style']).toContain('freetext');
    expect((await records(run.output.dataset_id)).map((r: any) => r.reasoning.style)).toEqual(['freetext', 'freetext']);
    const v2 = V3.replace('  conversation_type: basic\n', '  conversation_type: cot_structured\n  reasoning_style: logical\n');
    const structured = (await post(v2, '?num_steps=1&batch_size=2').expect(200)).body.run;
    expect(structured.output.report.deepfabric.ignored).toContain('data_engine.reasoning_style');
    expect(structured.output.report.deepfabric.notes['data_engine.reasoning_style']).toContain('domain hint');
    expect((await records(structured.output.dataset_id)).map((r: any) => r.reasoning.style)).toEqual(['structured', 'structured']);
  });

  it('rejects conflicting and unknown overrides, and overrides on a JSON pipeline', async () => {
    expect((await post(V4, '?num_samples=5&num_steps=2').expect(400)).body.error.details[0].field).toBe('num_steps');
    expect((await post(V4, '?colour=blue').expect(400)).body.error.details[0].field).toBe('colour');
    expect((await post(V4, '?mode=forest').expect(400)).body.error.details[0].field).toBe('mode');
    expect((await post(V4, '?num_samples=200000').expect(400)).body.error.details[0]).toEqual({ field: 'num_samples', message: expect.stringContaining('100,000') });
    expect((await post(V4, '?num_steps=60000&batch_size=2').expect(400)).body.error.details[0]).toEqual({ field: 'num_steps', message: expect.stringContaining('120,000 samples') });
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
