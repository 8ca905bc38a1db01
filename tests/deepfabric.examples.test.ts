import { readdirSync, readFileSync } from 'node:fs';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { startFakeLlm, type FakeLlm } from '../src/fake-llm/server.js';
import { DATABASES } from './support/databases.js';
import { startHarness, type Harness } from './support/harness.js';

/**
 * DeepFabric's own example configs (tests/fixtures/deepfabric/, copied as they are), posted as
 * DeepFabric users would post them, on a server where every provider they name is configured the
 * default way (its key variable) and pointed at the fake teacher.
 */
const DIR = new URL('./fixtures/deepfabric/', import.meta.url);
const fixture = (name: string) => readFileSync(new URL(name, DIR), 'utf8');

/** Tool definitions served by a Spin mock service: refused without ?tools_id= (tests/pipelines.tools.test.ts runs them with it). */
const MOCK = ['generation.tools.components.mock', 'generation.tools.tools_endpoint'];
/**
 * What Quarry does with each example: it runs, or these settings are refused (each named in the 400).
 * The builtin-VFS tool configs run as topics → tools pipelines on Quarry's in-memory VFS.
 */
const EXPECTED: Record<string, 'runs' | string[]> = {
  'v4-basic-anthropic.yaml': 'runs',
  'v4-basic-gemini.yaml': 'runs',
  'v4-basic-graph.yaml': 'runs',
  'v4-basic-ollama.yaml': 'runs',
  'v4-basic-openai.yaml': 'runs',
  'v4-basic-openrouter.yaml': 'runs',
  'v4-basic-tree.yaml': 'runs',
  'v4-reasoning.yaml': 'runs',
  'v4-agent-tools.yaml': 'runs',
  'v4-coding-agent.yaml': 'runs',
  'v4-complete.yaml': ['output.formatters'],
  'v4-github-mock-tools.yaml': MOCK,
  'v4-spin-vfs-tools.yaml': 'runs',
  'v4-tools-sdk-spin-blender.yaml': [...MOCK, 'generation.tools.tool_execute_path'],
  'v4-tools-sdk-spin-figma.yaml': MOCK,
  'v4-tools-sdk-spin-github-tools.yaml': ['generation.tools.components.github', 'generation.tools.tools_endpoint'],
  'v4-tools-sdk-spin-kubernetes.yaml': MOCK,
  'v3-basic.yaml': 'runs',
  'v3-reasoning.yaml': 'runs',
  'v3-agent-tools-single.yaml': ['data_engine.tool_registry_path'],
  'v3-agent-tools-multi.yaml': ['data_engine.tool_registry_path'],
  'v2-cot_freetext.yaml': 'runs',
  'v2-cot_structured.yaml': 'runs',
  'v2-cot_hybrid.yaml': ['data_engine.conversation_type'],
};

/** What the config asks for, read from the YAML itself: the sample count, the records' system message, the models. */
function asked(yaml: string) {
  const d = parseYaml(yaml);
  if (d.output) {
    const models = [d.llm?.model, d.topics.llm?.model, d.generation.llm?.model].filter(Boolean);
    return { samples: d.output.num_samples, system: d.output.include_system_message !== false ? d.output.system_prompt : undefined, models, tools: d.generation.tools !== undefined };
  }
  const c = d.dataset.creation;
  const models = [(d.topic_tree ?? d.topic_graph).model, d.data_engine.model, c.model].filter(Boolean);
  return { samples: c.num_steps * c.batch_size, system: c.sys_msg !== false ? d.dataset_system_prompt : undefined, models, tools: false };
}

describe.each(DATABASES)('DeepFabric example configs, as they are (%s)', (db) => {
  let fake: FakeLlm;
  let h: Harness;
  beforeAll(async () => {
    fake = await startFakeLlm({ latencyMs: 1 });
    h = await startHarness({
      db,
      fakeLlm: fake,
      env: {
        GEMINI_API_KEY: 'gemini-test-key',
        GEMINI_BASE_URL: fake.openaiBaseUrl,
        OPENROUTER_API_KEY: 'sk-or-test',
        OPENROUTER_BASE_URL: fake.openaiBaseUrl,
        OLLAMA_BASE_URL: fake.openaiBaseUrl,
      },
    });
  });
  afterAll(async () => {
    await h?.close();
    await fake?.close();
  });

  it('has an expectation for every fixture', () => {
    expect(readdirSync(DIR).filter((f) => f.endsWith('.yaml')).sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(Object.entries(EXPECTED).filter(([, e]) => e === 'runs').map(([f]) => f))('%s runs and exports', async (file) => {
    const yaml = fixture(file);
    const want = asked(yaml);
    fake.reset();
    const res = await request(h.url).post('/v1/pipelines').set('content-type', 'application/yaml').set('Prefer', 'wait=120').send(yaml).expect(200);
    const run = res.body.run;
    expect(run.status, JSON.stringify(run.error)).toBe('succeeded');
    const exported = (await request(h.url).get(run.links.export).expect(200)).text.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
    if (want.tools) {
      // A tool config plans num_samples examples; those the checks reject are not exported (OpenAI messages with tools).
      const tools = run.output.report.stages.find((s: any) => s.kind === 'tools');
      const planned = (await request(h.url).get(`/v1/runs/${tools.run_id}`).expect(200)).body.run;
      expect(planned.spec.target_examples).toBe(want.samples);
      expect(run.links.export).toContain('format=openai');
      expect(exported.length).toBeLessThanOrEqual(want.samples);
      for (const line of exported) expect(line.tools.length).toBeGreaterThan(0);
    } else expect(exported).toHaveLength(want.samples);
    for (const line of exported) {
      const system = line.messages.filter((m: any) => m.role === 'system').map((m: any) => m.content);
      expect(system).toEqual(want.system ? [want.system] : []);
      expect(line.messages.at(-1).role).toBe('assistant');
    }
    // Every teacher call went to the models the config names.
    expect(new Set(fake.requests().map((r) => (r.body as any).model))).toEqual(new Set(want.models));
  });

  it.each(Object.entries(EXPECTED).filter(([, e]) => e !== 'runs'))('%s is refused, naming %j', async (file, fields) => {
    const res = await request(h.url).post('/v1/pipelines').set('content-type', 'application/yaml').send(fixture(file)).expect(400);
    expect(res.body.error.details.map((d: any) => d.field).sort()).toEqual([...(fields as string[])].sort());
    for (const d of res.body.error.details) expect(d.message).not.toMatch(/union|is not a DeepFabric setting Quarry knows/);
  });
});
