import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from './support/databases.js';
import { startHarness, storedCounts, type Harness } from './support/harness.js';
import { TEACHER_MODES } from './support/teacher-modes.js';
import { checkExports, checkKept, finished, generate, HDF5, HDF5_NAMES, records, STAGES } from './support/tools-generate.js';

describe.each(DATABASES)('POST /v1/tools/generate (%s)', (db) => {
  describe.each(TEACHER_MODES)('hdf5_tools.json with $mode', ({ fake }) => {
    let h: Harness;
    beforeAll(async () => {
      h = await startHarness({ db, fake });
    });
    afterAll(() => h?.close());

    it('plans 100 examples in auto mode; every kept one is verified three times and every call validates against its tool', async () => {
      const res = await generate(h, { tools: HDF5, target_examples: 100, semantic_check: { threshold: 0.3 }, regenerate: 1, seed: 7 });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      const run = await finished(h, res.body.run.id);
      expect(run).toMatchObject({ kind: 'tools', status: 'succeeded' });
      const kept = await records(h, run.output.dataset_id);
      const rejected = await records(h, run.output.rejected_dataset_id);
      // Every planned example was made: kept, or rejected on each of its tries.
      const indexes = new Set([...kept, ...rejected].map((r) => r.data.example_index));
      expect(indexes.size).toBe(100);
      expect(new Set(kept.map((r) => r.data.example_index)).size).toBe(kept.length);
      expect(kept.length).toBeGreaterThan(0);
      const called = new Map<string, number>();
      for (const r of kept) {
        for (const c of checkKept(r)) called.set(c.tool, (called.get(c.tool) ?? 0) + 1);
        expect(r.data.verification.semantic.confidence).toBeGreaterThanOrEqual(0.3);
        expect(r.data.messages[0].role).toBe('system');
        expect(r.data.messages[1]).toEqual({ role: 'user', content: r.data.instruction });
        expect(r.data.messages.at(-1)).toEqual({ role: 'assistant', content: r.data.final_answer });
      }
      for (const r of rejected) {
        expect(STAGES).toContain(r.data.rejected_stage);
        expect(r.data.rejected_reason).toEqual(expect.any(String));
        expect(r.data.verification[r.data.rejected_stage].passed).toBe(false);
        if (r.data.rejected_stage === 'semantic') {
          const s = r.data.verification.semantic;
          expect(s.reason).toMatch(/judged/);
          expect(s.confidence < 0.3 || /incorrect/.test(s.reason)).toBe(true);
        }
      }
      // Both modes in auto; the report counts what was written, by tool, mode, difficulty and stage.
      const report = run.output.report;
      expect(report).toMatchObject({ examples_planned: 100, tools: HDF5_NAMES.length, kept: kept.length, rejected: rejected.length });
      expect(report.by_mode.single.kept + report.by_mode.single.rejected).toBeGreaterThan(0);
      expect(report.by_mode.multi.kept + report.by_mode.multi.rejected).toBeGreaterThan(0);
      expect(Object.values(report.rejected_by_stage).reduce((a: number, b: any) => a + b, 0)).toBe(rejected.length);
      expect(Object.keys(report.by_difficulty).sort()).toEqual(['easy', 'hard', 'medium']);
      // Every tool reaches min_per_tool kept examples, or the report names it and says why.
      const below = new Map(report.coverage.below.map((b: any) => [b.tool, b]));
      for (const name of HDF5_NAMES) {
        expect(report.per_tool[name]?.kept ?? 0).toBe(called.get(name) ?? 0);
        if ((report.per_tool[name]?.kept ?? 0) >= 10) expect(below.has(name)).toBe(false);
        else expect((below.get(name) as any)?.why, name).toEqual(expect.any(String));
      }
      expect(run.usage.requests).toBeGreaterThan(100 * 4);
      // Every call of every exported example validates against its tool's schema, in each function-calling format.
      const checked = await checkExports(h, run.output.dataset_id, kept);
      expect(checked.openai).toBeGreaterThan(kept.length - 1);
    });

    it('single mode: one step per example (parallel calls at most), per_tool examples of each tool', async () => {
      const res = await generate(h, { tools: HDF5, mode: 'single', per_tool: 1, min_per_tool: 1, semantic_check: { threshold: 0 }, regenerate: 0 });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      const run = await finished(h, res.body.run.id);
      expect(run.output.report).toMatchObject({ examples_planned: HDF5_NAMES.length });
      const all = [...(await records(h, run.output.dataset_id)), ...(await records(h, run.output.rejected_dataset_id))];
      expect(all).toHaveLength(HDF5_NAMES.length);
      for (const r of all) {
        expect(r.data.mode).toBe('single');
        expect(r.data.steps.length).toBeLessThanOrEqual(1);
      }
      for (const r of await records(h, run.output.dataset_id)) {
        expect(r.data.steps).toHaveLength(1);
        checkKept(r);
      }
    });

    it('multi mode: chains of two to max_steps steps', async () => {
      const res = await generate(h, { tools: HDF5, mode: 'multi', target_examples: 12, min_per_tool: 0, max_steps: 3, semantic_check: { threshold: 0 }, regenerate: 0 });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      const run = await finished(h, res.body.run.id);
      const kept = await records(h, run.output.dataset_id);
      for (const r of kept) {
        expect(r.data.mode).toBe('multi');
        expect(r.data.steps.length).toBeLessThanOrEqual(3);
        checkKept(r);
      }
      // Chains follow the dependency graph: most examples written to the end have two steps or more.
      const whole = [...kept, ...(await records(h, run.output.rejected_dataset_id)).filter((r) => r.data.rejected_stage === 'semantic')];
      expect(whole).toHaveLength(12);
      expect(whole.filter((r) => r.data.steps.length >= 2).length * 2).toBeGreaterThanOrEqual(whole.length);
      expect(run.output.report.planned_by_mode).toMatchObject({ multi: 12 });
    });
  });
});

describe.each(DATABASES)('POST /v1/tools/generate: verification and faults (%s)', (db) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ db, fake: { latencyMs: 2 } });
  });
  afterAll(() => h?.close());

  it('takes a stored tool set by tools_id, and its documentation travels with every example', async () => {
    const set = (await request(h.url).post('/v1/tools').send({ definition: HDF5 }).expect(201)).body.tool_set;
    const res = await generate(h, { tools_id: set.id, target_examples: 6, min_per_tool: 0, semantic_check: { threshold: 0 }, regenerate: 0 });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const run = await finished(h, res.body.run.id);
    expect(run.spec).toMatchObject({ tools_id: set.id });
    const all = [...(await records(h, run.output.dataset_id)), ...(await records(h, run.output.rejected_dataset_id))];
    expect(all).toHaveLength(6);
    for (const r of all) {
      expect(r.data.tools.length).toBeGreaterThan(r.data.tools_used.length);
      for (const used of r.data.tools_used) expect(r.data.tools.map((t: any) => t.function.name)).toContain(used);
    }
    for (const r of await records(h, run.output.dataset_id)) expect(r.data.tool_set_id).toBe(set.id);
  });

  it('shows the chain, the language and the seed examples to the teacher; each step\'s schema forces its planned calls', async () => {
    h.fake.reset();
    const seed = { instruction: 'Open /data/run7.h5 and tell me the shape of /results/temperature', solution: 'open_file, then get_shape' };
    const res = await generate(h, { tools: HDF5, mode: 'multi', target_examples: 3, min_per_tool: 0, max_steps: 3, seed: 11, language: 'German', seed_examples: [seed], semantic_check: { threshold: 0 }, regenerate: 0 });
    const run = await finished(h, res.body.run.id);
    const bodies = h.fake.requests().map((r) => r.body as any);
    const named = (name: string) => bodies.filter((b) => b?.response_format?.json_schema?.name === name);
    const instructions = named('tool_instruction');
    expect(instructions).toHaveLength(3);
    for (const b of instructions) {
      const prompt = b.messages.at(-1).content as string;
      expect(prompt).toContain('in German');
      expect(prompt).toContain(seed.instruction);
      expect(prompt).toMatch(/1\. \w+/);
    }
    // The planned chain, in order, with its data flow.
    expect(instructions.some((b) => /1\. \w+ → 2\. \w+/.test(b.messages.at(-1).content))).toBe(true);
    const all = [...(await records(h, run.output.dataset_id)), ...(await records(h, run.output.rejected_dataset_id))];
    const plannedSteps = all.flatMap((r) => r.data.steps.map((s: any) => s.calls.map((c: any) => c.tool).sort().join()));
    const steps = named('tool_step');
    expect(steps.length).toBeGreaterThanOrEqual(plannedSteps.length);
    const byName = new Map(HDF5.tools.map((t: any) => [t.name, t]));
    for (const b of steps) {
      const calls = b.response_format.json_schema.schema.properties.calls;
      // Exactly the planned tools, all required, nothing else; each holds that tool's parameters.
      expect(calls).toMatchObject({ type: 'object', additionalProperties: false, required: Object.keys(calls.properties) });
      for (const [key, schema] of Object.entries<any>(calls.properties)) {
        const tool: any = byName.get(key.replace(/__\d+$/, ''));
        expect(tool, key).toBeDefined();
        expect(Object.keys(schema.properties ?? {}).sort()).toEqual(tool.parameters.map((p: any) => p.name).sort());
      }
    }
    expect(steps.map((b) => Object.keys(b.response_format.json_schema.schema.properties.calls.properties).sort().join())).toEqual(expect.arrayContaining(plannedSteps));
  });

  it('rejects what the judge says is incorrect (stage semantic) and makes the plan afresh with a different request', async () => {
    h.fake.reset();
    const res = await generate(h, { tools: HDF5, mode: 'single', target_examples: 16, min_per_tool: 0, semantic_check: { threshold: 0 }, regenerate: 1 });
    const run = await finished(h, res.body.run.id);
    expect(run.status).toBe('succeeded');
    const kept = await records(h, run.output.dataset_id);
    const rejected = await records(h, run.output.rejected_dataset_id);
    // A teacher answering at random says "incorrect" about half the time: 16 first tries leave some rejected.
    const incorrect = rejected.filter((r) => r.data.rejected_stage === 'semantic' && /judged incorrect/.test(r.data.rejected_reason));
    expect(incorrect.length).toBeGreaterThan(0);
    for (const r of incorrect) {
      expect(r.data.verification).toMatchObject({ format: { passed: true }, execution: { passed: true }, semantic: { passed: false } });
      expect(r.data.rejection).toEqual({ reason: 'semantic', detail: r.data.rejected_reason });
    }
    // Every first try that was rejected was tried again under its own key, with the rejected request to avoid.
    const firstRejected = rejected.filter((r) => r.data.attempt === 0);
    const retried = [...kept, ...rejected].filter((r) => r.data.attempt === 1);
    expect(retried.map((r) => r.key).sort()).toEqual(firstRejected.map((r) => `${r.key}/r1`).sort());
    expect(run.output.report.rejected_by_stage.semantic).toBe(rejected.filter((r) => r.data.rejected_stage === 'semantic').length);
  });

  it('works the same through the Anthropic wire format (the answer schema as a forced tool)', async () => {
    const res = await generate(h, { tools: HDF5, target_examples: 6, min_per_tool: 0, llm: { provider: 'anthropic' }, semantic_check: { threshold: 0 }, regenerate: 2 });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const run = await finished(h, res.body.run.id);
    expect(run.status).toBe('succeeded');
    const kept = await records(h, run.output.dataset_id);
    for (const r of kept) checkKept(r);
    const all = [...kept, ...(await records(h, run.output.rejected_dataset_id))];
    expect(new Set(all.map((r) => r.data.example_index)).size).toBe(6);
    expect(all.every((r) => /claude/.test(r.data.model))).toBe(true);
  });

  it('never passes an example whose judge fails: the task fails, nothing is written', async () => {
    h.fake.reset();
    h.fake.configure({ faults: [{ kind: 'refusal', match: 'strict reviewer of tool-use training data' }] });
    const res = await generate(h, { tools: HDF5, mode: 'single', target_examples: 3, min_per_tool: 0, max_attempts: 1 });
    const run = await finished(h, res.body.run.id);
    expect(run.status).toBe('failed');
    expect(run.progress).toMatchObject({ failed: 3, records: 0 });
    expect(await records(h, run.output.dataset_id)).toEqual([]);
    expect(await records(h, run.output.rejected_dataset_id)).toEqual([]);
    expect(h.fake.stats().faults.refusal).toBe(3);
    h.fake.reset();
  });

  it('a 429, a 500 or a malformed answer costs a retry, not a record', async () => {
    h.fake.reset();
    h.fake.configure({ faults: [{ kind: '429', times: 2, retryAfter: 0 }, { kind: '500', times: 2 }, { kind: 'malformed', times: 3 }] });
    const res = await generate(h, { tools: HDF5, target_examples: 5, min_per_tool: 0, semantic_check: { threshold: 0 }, regenerate: 0 });
    const run = await finished(h, res.body.run.id);
    expect(run.status).toBe('succeeded');
    expect(h.fake.stats().faults).toMatchObject({ '429': 2, '500': 2, malformed: 3 });
    const all = [...(await records(h, run.output.dataset_id)), ...(await records(h, run.output.rejected_dataset_id))];
    expect(all.map((r) => r.data.example_index).sort()).toEqual([0, 1, 2, 3, 4]);
    expect(all.every((r) => r.data.rejected_stage !== 'format' && r.data.rejected_stage !== 'execution')).toBe(true);
  });

  it('a dry run plans the examples and estimates the teacher calls, queuing nothing', async () => {
    const before = await storedCounts(h);
    const res = await request(h.url).post('/v1/tools/generate').send({ tools: HDF5, target_examples: 10, dry_run: true }).expect(200);
    expect(res.body.plan).toMatchObject({ kind: 'tools', tasks: 10, report: { examples_planned: 10 } });
    expect(res.body.plan.teacher_calls).toBeGreaterThanOrEqual(10 * 5);
    expect(await storedCounts(h)).toEqual(before);
  });

  it.each([
    [{ tools: HDF5, target_examples: 10, per_tool: 2 }, 'per_tool'],
    [{ tools: HDF5, tools_id: 'tl_0123456789abcdef01234567' }, 'tools'],
    [{ tools_id: 'tl_0123456789abcdef01234567' }, 'tools_id'],
    [{ target_examples: 3 }, 'tools_id'],
    [{ tools: HDF5, max_steps: 11 }, 'max_steps'],
    [{ tools: HDF5, max_steps: 0 }, 'max_steps'],
    [{ tools: HDF5, per_tool: 1001 }, 'per_tool'],
    [{ tools: HDF5, target_examples: 100_001 }, 'target_examples'],
    [{ tools: HDF5, per_tool: 5_000 }, 'per_tool'],
    [{ tools: HDF5, difficulty: { easy: 0, medium: 0 } }, 'difficulty'],
    [{ tools: HDF5, difficulty: { easy: 2 } }, 'difficulty.easy'],
    [{ tools: HDF5, mode: 'chain' }, 'mode'],
    [{ tools: HDF5, semantic_check: { threshold: 1.5 } }, 'semantic_check.threshold'],
    [{ tools: HDF5, seed_examples: Array.from({ length: 11 }, () => ({ instruction: 'x' })) }, 'seed_examples'],
    [{ tools: HDF5, execution: { mode: 'http' } }, 'execution.mode'],
    [{ tools: HDF5, execution: { mode: 'mcp' } }, 'execution.mcp_url'],
    [{ tools: HDF5, execution: { mode: 'simulated', base_url: 'http://127.0.0.1:1' } }, 'execution.base_url'],
    [{ tools: HDF5, execution: { headers: { authorization: 'x' } } }, 'execution.headers'],
    [{ tools: HDF5, llm: { provider: 'nope' } }, 'llm.provider'],
    [{ tools: { name: 'x', tools: [{ name: 'bad name!', description: 'd', parameters: [] }] } }, 'tools'],
  ])('400 naming the field: %j → %s', async (body, field) => {
    const before = await storedCounts(h);
    const res = await request(h.url).post('/v1/tools/generate').send(body);
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(res.body.error.details.map((d: { field: string }) => d.field).join(' ')).toContain(field);
    expect(await storedCounts(h)).toEqual(before);
  });
});
