import { readFileSync } from 'node:fs';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { DATABASES } from './support/databases.js';
import { markdownDoc, startHarness, type Harness } from './support/harness.js';
import { TEACHER_MODES } from './support/teacher-modes.js';
import { checkKept, HDF5, HDF5_NAMES, records } from './support/tools-generate.js';
import { createVfsExecutor } from '../services/tools/execute/vfs.executor.js';
import { startHttpToolApi, type HttpToolApi } from './support/tool-servers.js';

/**
 * The tools stage of /v1/pipelines: tools → curate → export as JSON, topics → tools, and
 * DeepFabric's tool configs (tests/fixtures/deepfabric/) mapped onto it, each run end to end
 * against both fake teachers, with every kept record's calls checked against its tools.
 */
const fixture = (name: string) => readFileSync(new URL(`./fixtures/deepfabric/${name}`, import.meta.url), 'utf8');
const VFS_NAMES = ['read_file', 'write_file', 'list_files'];
/** The mapped DeepFabric tool configs: as they are (builtin VFS), or with ?tools_id= giving the Spin-hosted definitions. */
const AS_THEY_ARE = ['v4-agent-tools.yaml', 'v4-coding-agent.yaml', 'v4-spin-vfs-tools.yaml'];
const WITH_TOOLS_ID = ['v4-github-mock-tools.yaml', 'v4-tools-sdk-spin-blender.yaml', 'v4-tools-sdk-spin-figma.yaml', 'v4-tools-sdk-spin-kubernetes.yaml', 'v3-agent-tools-single.yaml', 'v3-agent-tools-multi.yaml'];
/** Small topic trees, so a suite stays quick: the overrides `deepfabric generate` takes. */
const SMALL = 'depth=1&degree=2';
const SAMPLES = 16;

describe.each(DATABASES)('pipelines with a tools stage (%s)', (db) => {
  describe.each(TEACHER_MODES)('$mode', ({ fake }) => {
    let h: Harness;
    beforeAll(async () => {
      // DeepFabric's configs name gemini, openai or ollama: ?provider=openai points every stage at the fake teacher.
      h = await startHarness({ db, fake });
    });
    afterAll(() => h?.close());

    const post = (body: unknown, query = '') => {
      const req = request(h.url).post(`/v1/pipelines${query}`).set('Prefer', 'wait=120');
      return typeof body === 'string' ? req.set('content-type', 'application/yaml').send(body) : req.send(body as object);
    };
    const runOf = async (id: string) => (await request(h.url).get(`/v1/runs/${id}`).set('Prefer', 'wait=120').expect(200)).body.run;

    it('runs tools → curate → export: stages, rows, and every exported call valid', async () => {
      const res = await post({
        tools: { tools: HDF5, target_examples: 6, min_per_tool: 0, semantic_check: { threshold: 0 }, seed: 3 },
        curate: { threshold: 0 },
        export: { format: 'openai' },
      });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      const run = await runOf(res.body.run.id);
      expect(run.status, JSON.stringify(run.error)).toBe('succeeded');
      const stages = run.output.report.stages;
      expect(stages.map((s: any) => [s.stage, s.kind, s.status])).toEqual([[0, 'tools', 'succeeded'], [1, 'curate', 'succeeded']]);
      const toolsRun = await runOf(stages[0].run_id);
      const kept = await records(h, toolsRun.output.dataset_id);
      const curated = await records(h, run.output.dataset_id);
      expect(stages[1].rows_in).toBe(kept.length);
      expect(curated.length).toBeGreaterThan(0);
      for (const r of curated) for (const c of checkKept(r)) expect(HDF5_NAMES).toContain(c.tool);
      const lines = (await request(h.url).get(run.links.export).expect(200)).text.trim().split('\n').map((l) => JSON.parse(l));
      expect(run.links.export).toMatch(/format=openai/);
      expect(lines).toHaveLength(curated.length);
      for (const line of lines) expect(line.messages.some((m: any) => m.tool_calls?.length)).toBe(true);
    });

    it('shows the tools stage in a dry run, planned now', async () => {
      const res = await post({ tools: { tools: HDF5, target_examples: 4, min_per_tool: 0 }, curate: { threshold: 0 }, dry_run: true }).expect(200);
      const stages = res.body.plan.stages;
      expect(stages.map((s: any) => [s.stage, s.planned])).toEqual([['tools', true], ['curate', false]]);
      expect(stages[0].tasks).toBe(4);
    });

    it('runs topics → tools: each example is written for a topic path of the tree', async () => {
      const res = await post({
        topics: { prompt: 'Working with HDF5 files', degree: 2, depth: 1 },
        tools: { tools: HDF5, target_examples: 4, min_per_tool: 0, semantic_check: { threshold: 0 } },
      });
      const run = await runOf(res.body.run.id);
      expect(run.status, JSON.stringify(run.error)).toBe('succeeded');
      expect(run.output.report.stages.map((s: any) => s.kind)).toEqual(['topics', 'tools']);
      const toolsRun = await runOf(run.output.report.stages[1].run_id);
      const all = [...(await records(h, toolsRun.output.dataset_id)), ...(await records(h, toolsRun.output.rejected_dataset_id))];
      const topics = (await request(h.url).get(`/v1/topics/${run.output.topics_id}?format=jsonl`).expect(200)).text.trim().split('\n').map((l) => JSON.parse(l).path);
      expect(all.length).toBeGreaterThan(0);
      for (const r of all) expect(topics).toContainEqual(r.data.topic_path);
      // The path reached the prompt that wrote the request.
      const asked = h.fake.requests().map((q) => JSON.stringify(q.body)).filter((b) => b.includes('Write it about this topic'));
      expect(asked.length).toBeGreaterThanOrEqual(4);
    });

    it.each(AS_THEY_ARE)('DeepFabric %s runs as it is on the VFS, every kept call valid', async (file) => {
      const yaml = fixture(file);
      const asked = parseYaml(yaml);
      // The fake judge passes about one try in five (a random verdict and confidence, threshold 0.6, three tries each):
      // 16 examples keep at least one but about once in 50,000 runs. The config's own count is checked in deepfabric.examples.
      const res = await post(yaml, `?${SMALL}&provider=openai&num_samples=${SAMPLES}`);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      const run = await runOf(res.body.run.id);
      expect(run.status, JSON.stringify(run.error)).toBe('succeeded');
      const df = run.output.report.deepfabric;
      expect(df.notes['generation.tools.components']).toMatch(/Spin service is not used.*in-memory VFS/);
      const toolsStage = run.output.report.stages.find((s: any) => s.kind === 'tools');
      const toolsRun = await runOf(toolsStage.run_id);
      expect(toolsRun.spec).toMatchObject({ execution: { mode: 'vfs' }, target_examples: SAMPLES, max_steps: asked.generation.tools.max_agent_steps, max_calls: asked.generation.tools.max_per_query });
      const kept = await records(h, toolsRun.output.dataset_id);
      const rejected = await records(h, toolsRun.output.rejected_dataset_id);
      expect(kept.length + rejected.length).toBeGreaterThanOrEqual(SAMPLES);
      expect(kept.length, JSON.stringify(rejected.map((r) => [r.data.rejected_stage, r.data.rejected_reason]))).toBeGreaterThan(0);
      const system = asked.output.include_system_message === false ? [] : [asked.output.system_prompt];
      const seed = (asked.generation.tools.scenario_seed ?? asked.generation.scenario_seed).files;
      expect(toolsRun.spec.execution.files).toEqual(Object.entries(seed).map(([path, content]) => ({ path, content })));
      for (const r of kept) {
        // Replayed on a fresh VFS seeded the same way, every call answers what the record says it answered.
        const vfs = createVfsExecutor(seed);
        for (const call of r.data.steps.flatMap((st: any) => st.calls)) {
          const replay = await vfs.execute({ name: call.tool } as never, call.args, new AbortController().signal);
          expect(replay).toEqual({ ok: true, result: call.result });
        }
        const calls = checkKept(r);
        for (const c of calls) expect(VFS_NAMES).toContain(c.tool);
        expect(calls.length).toBeLessThanOrEqual(asked.generation.tools.max_per_query);
        expect(r.data.verification.execution.mode).toBe('vfs');
        expect(r.data.messages.filter((m: any) => m.role === 'system').map((m: any) => m.content)).toEqual(system);
      }
      const lines = (await request(h.url).get(run.links.export).expect(200)).text.trim().split('\n');
      expect(lines).toHaveLength(kept.length);
    });

    it.each(WITH_TOOLS_ID)('DeepFabric %s runs with ?tools_id= giving its definitions (simulated)', async (file) => {
      const set = (await request(h.url).post("/v1/tools").send({ definition: HDF5 }).expect(201)).body.tool_set;
      const res = await post(fixture(file), `?${SMALL}&provider=openai&num_samples=2&tools_id=${set.id}`);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      const run = await runOf(res.body.run.id);
      expect(run.status, JSON.stringify(run.error)).toBe('succeeded');
      const toolsRun = await runOf(run.output.report.stages.find((s: any) => s.kind === 'tools').run_id);
      expect(toolsRun.spec).toMatchObject({ tools_id: set.id });
      expect(toolsRun.spec.execution?.mode ?? 'simulated').toBe('simulated');
      const kept = await records(h, toolsRun.output.dataset_id);
      const rejected = await records(h, toolsRun.output.rejected_dataset_id);
      expect(kept.length + rejected.length).toBeGreaterThanOrEqual(2);
      for (const r of kept) for (const c of checkKept(r)) expect(HDF5_NAMES).toContain(c.tool);
    });
  });
});

/** What cannot map is a 400 naming the setting; JSON pipelines' tools-stage rules likewise. */
const REFUSED: Record<string, string[]> = {
  'v4-github-mock-tools.yaml': ['generation.tools.components.mock', 'generation.tools.tools_endpoint'],
  'v4-tools-sdk-spin-blender.yaml': ['generation.tools.components.mock', 'generation.tools.tools_endpoint', 'generation.tools.tool_execute_path'],
  'v4-tools-sdk-spin-figma.yaml': ['generation.tools.components.mock', 'generation.tools.tools_endpoint'],
  'v4-tools-sdk-spin-kubernetes.yaml': ['generation.tools.components.mock', 'generation.tools.tools_endpoint'],
  'v4-tools-sdk-spin-github-tools.yaml': ['generation.tools.components.github', 'generation.tools.tools_endpoint'],
  'v3-agent-tools-single.yaml': ['data_engine.tool_registry_path'],
  'v3-agent-tools-multi.yaml': ['data_engine.tool_registry_path'],
};

describe.each(DATABASES)('a tools stage calling a real API (%s)', (db) => {
  let h: Harness;
  let api: HttpToolApi;
  beforeAll(async () => {
    api = await startHttpToolApi();
    h = await startHarness({ db, fake: { latencyMs: 1 }, env: { TOOLS_HTTP_ALLOW: api.baseUrl } });
  });
  afterAll(async () => {
    await h?.close();
    await api?.close();
  });

  it('sends execution.headers with every call but stores neither them in the pipeline spec nor in the stage run', async () => {
    const before = api.requests.length;
    const res = await request(h.url).post('/v1/pipelines').set('Prefer', 'wait=120').send({
      tools: { tools: api.openapi, mode: 'single', per_tool: 1, min_per_tool: 0, execution: { mode: 'http', headers: { 'X-Api-Key': 'k-secret' } }, semantic_check: { threshold: 0 } },
      export: { format: 'trl' },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const run = (await request(h.url).get(`/v1/runs/${res.body.run.id}`).set('Prefer', 'wait=120').expect(200)).body.run;
    expect(run.status, JSON.stringify(run.error)).toBe('succeeded');
    expect(run.spec.tools.execution.headers).toEqual({ 'X-Api-Key': '(redacted)' });
    const stage = (await request(h.url).get(`/v1/runs/${run.output.report.stages[0].run_id}`).expect(200)).body.run;
    expect(JSON.stringify([run.spec, stage.spec])).not.toContain('k-secret');
    const real = api.requests.slice(before).filter((r) => r.path.startsWith('/v1/'));
    expect(real.length).toBeGreaterThan(0);
    expect(real.every((r) => r.headers['x-api-key'] === 'k-secret')).toBe(true);
  });

  it('refuses header values after a topics stage, naming tools.execution.headers, without echoing them', async () => {
    const res = await request(h.url).post('/v1/pipelines').send({
      topics: { prompt: 'x', degree: 2, depth: 1 },
      tools: { tools: api.openapi, target_examples: 1, execution: { mode: 'http', headers: { 'X-Api-Key': 'k-secret' } } },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.details.map((d: any) => d.field)).toEqual(['tools.execution.headers']);
    expect(JSON.stringify(res.body)).not.toContain('k-secret');
  });
});

describe.each(DATABASES)('tools-stage refusals (%s)', (db) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ db, fake: { latencyMs: 1 } });
  });
  afterAll(() => h?.close());
  const fields = (res: request.Response) => res.body.error.details.map((d: any) => d.field).sort();

  it.each(Object.entries(REFUSED))('%s is refused without ?tools_id=, naming %j', async (file, named) => {
    const res = await request(h.url).post('/v1/pipelines').set('content-type', 'application/yaml').send(fixture(file)).expect(400);
    expect(fields(res)).toEqual([...named].sort());
    for (const d of res.body.error.details) expect(d.message).toMatch(/tools_id|Spin WASM module/);
  });

  it('refuses the github component even with ?tools_id=, and tools_id for a config without tools', async () => {
    const set = (await request(h.url).post('/v1/tools').send({ definition: HDF5 }).expect(201)).body.tool_set;
    const github = await request(h.url).post(`/v1/pipelines?tools_id=${set.id}`).set('content-type', 'application/yaml').send(fixture('v4-tools-sdk-spin-github-tools.yaml')).expect(400);
    expect(fields(github)).toEqual(['generation.tools.components.github']);
    const basic = await request(h.url).post(`/v1/pipelines?tools_id=${set.id}`).set('content-type', 'application/yaml').send(fixture('v4-basic-tree.yaml')).expect(400);
    expect(fields(basic)).toEqual(['tools_id']);
  });

  it('refuses agent reasoning without tools, and builtin tools the VFS does not have', async () => {
    const agent = 'topics:\n  prompt: x\ngeneration:\n  system_prompt: s\n  conversation:\n    type: cot\n    reasoning_style: agent\noutput:\n  num_samples: 1\n';
    expect(fields(await request(h.url).post('/v1/pipelines').set('content-type', 'application/yaml').send(agent).expect(400))).toEqual(['generation.conversation.reasoning_style']);
    const del = 'topics:\n  prompt: x\ngeneration:\n  system_prompt: s\n  tools:\n    components:\n      builtin: [read_file, delete_file]\noutput:\n  num_samples: 1\n';
    const res = await request(h.url).post('/v1/pipelines').set('content-type', 'application/yaml').send(del).expect(400);
    expect(fields(res)).toEqual(['generation.tools.components.builtin']);
    expect(res.body.error.details[0].message).toMatch(/delete_file/);
  });

  it('refuses tools with generate, enrich after tools, topics_id after topics, and non-VFS tools in vfs mode', async () => {
    const post = (body: object) => request(h.url).post('/v1/pipelines').send(body).expect(400);
    const tools = { tools: HDF5, target_examples: 2 };
    expect(fields(await post({ generate: { documents: [markdownDoc('a.md', 1)] }, tools }))).toEqual(['tools']);
    expect(fields(await post({ tools, enrich: { mode: 'rewrite' } }))).toEqual(['enrich']);
    expect(fields(await post({ topics: { prompt: 'x', degree: 2, depth: 1 }, tools: { ...tools, topics_id: 'tp_000000000000000000000000' } }))).toEqual(['tools.topics_id']);
    const vfs = await post({ tools: { ...tools, execution: { mode: 'vfs' } } });
    expect(fields(vfs)).toEqual(['tools.execution.mode']);
    expect(fields(await post({ tools: { target_examples: 2, execution: { mode: 'simulated', files: [{ path: 'a', content: 'b' }] } } }))).toEqual(['tools.execution.files']);
  });
});
