import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseDefinition } from '../../services/tools/definitions/parse-definition.js';
import { dependencyGraph, edgeBetween, validateChain, type ToolGraph } from '../../services/tools/dependency-graph.js';
import { MAX_OFFERED, MULTI_SHARE, calledTools, planExamples, type PlanOptions, type PlanResult } from '../../services/tools/plan.js';
import { sideEffectFree } from '../../services/tools/side-effects.js';
import type { Complexity, Tool } from '../../services/tools/tool.js';

const HDF5 = JSON.parse(readFileSync(new URL('../fixtures/tools/hdf5_tools.json', import.meta.url), 'utf8'));
const SEED_MIX = { easy: 30, medium: 50, hard: 20 };
const options = (o: Partial<PlanOptions> = {}): PlanOptions => ({ mode: 'auto', target: 100, minPerTool: 4, maxSteps: 5, difficulty: SEED_MIX, seed: 7, ...o });

/** A pipeline: stage_k takes `key_{k-1}` and returns `{ key_k }`, so stage_0 → stage_1 → … are the only chains. */
function pipeline(n: number, complexity: Complexity): Tool[] {
  return Array.from({ length: n }, (_, k) => ({
    name: `stage_${k}`, description: `stage ${k}`, category: 'pipeline', complexity, examples: [], origin: { format: 'generator' as const },
    parameters: k === 0 ? { type: 'object', properties: { input: { type: 'string' } } } : { type: 'object', properties: { [`key_${k - 1}`]: { type: 'string' } }, required: [`key_${k - 1}`] },
    returns: { type: 'object', properties: { [`key_${k}`]: { type: 'string' } } },
  }));
}

let hdf5: Tool[];
let graph: ToolGraph;
beforeAll(async () => {
  hdf5 = (await parseDefinition(HDF5, { field: 'definition' })).tools;
  graph = dependencyGraph(hdf5);
});

/** The structural promises every plan keeps, whatever the options. */
function expectWellFormed(r: PlanResult, tools: Tool[], g: ToolGraph, o: PlanOptions) {
  const names = new Set(tools.map((t) => t.name));
  const byName = new Map(tools.map((t) => [t.name, t]));
  const recount: Record<string, number> = Object.fromEntries([...names].map((t) => [t, 0]));
  r.plans.forEach((p, i) => {
    expect(p.index).toBe(i);
    const called = calledTools(p.steps);
    for (const t of called) recount[t]++;
    if (p.mode === 'single') expect(p.steps).toHaveLength(1);
    else {
      expect(p.steps.length).toBeGreaterThanOrEqual(2);
      expect(p.steps.length).toBeLessThanOrEqual(o.maxSteps);
      // The first tool of each step is the chain; every link follows a real edge of the graph.
      expect(validateChain(g, p.steps.map((s) => s[0]))).toEqual([]);
    }
    for (const l of p.links) {
      expect(l.from.step).toBeLessThan(l.to.step);
      expect(p.steps[l.from.step]).toContain(l.from.tool);
      expect(p.steps[l.to.step]).toContain(l.to.tool);
      expect(g.edges.some((e) => e.from === l.from.tool && e.to === l.to.tool && e.parameter === l.to.parameter)).toBe(true);
    }
    for (const step of p.steps.filter((s) => s.length > 1))
      for (const [a, x] of step.entries()) {
        expect(sideEffectFree(byName.get(x) ?? tools[0])).toBe(true);
        for (const y of step.slice(a + 1)) {
          expect(edgeBetween(g, x, y)).toBeUndefined();
          expect(edgeBetween(g, y, x)).toBeUndefined();
        }
      }
    for (const t of called) expect(p.offered).toContain(t);
    expect(new Set(p.offered).size).toBe(p.offered.length);
    expect(p.offered.length).toBeLessThanOrEqual(Math.max(MAX_OFFERED, called.length));
    for (const t of p.offered) expect(names.has(t)).toBe(true);
  });
  expect(r.coverage).toEqual(recount);
  expect(r.byMode.single + r.byMode.multi).toBe(r.plans.length);
}

describe('planExamples on hdf5_tools.json', () => {
  it('covers every tool at least ⌊100/24⌋ = 4 times in 100 auto-mode examples (each is anchored on the least-used tool), for any seed', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const o = options({ seed });
      const r = planExamples(hdf5, o);
      expectWellFormed(r, hdf5, graph, o);
      expect(r.plans).toHaveLength(100);
      expect(Math.min(...Object.values(r.coverage))).toBeGreaterThanOrEqual(4);
      expect(r.warnings.filter((w) => / of 4 examples/.test(w))).toEqual([]);
    }
  });

  it('keeps every placeable tool at ⌊target / tools⌋ or more, in every mode', () => {
    const chainable = graph.tools.filter((t) => (graph.successors.get(t)?.length ?? 0) + (graph.predecessors.get(t)?.length ?? 0) > 0);
    for (const target of [37, 100, 250])
      for (const mode of ['single', 'multi', 'auto'] as const) {
        const r = planExamples(hdf5, options({ mode, target, seed: target }));
        const placeable = mode === 'multi' ? chainable : graph.tools;
        expect(Math.min(...placeable.map((t) => r.coverage[t]))).toBeGreaterThanOrEqual(Math.floor(target / placeable.length));
      }
  });

  it('says per tool why min_per_tool 10 does not fit in 100 examples', () => {
    const r = planExamples(hdf5, options({ minPerTool: 10 }));
    const below = Object.entries(r.coverage).filter(([, c]) => c < 10);
    expect(below.length).toBeGreaterThan(0);
    for (const [t, c] of below) {
      const lines = r.warnings.filter((w) => w.startsWith(`${t}: `));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`^${t}: in ${c} of 10 examples: target 100 is below the \\d+ examples needed for 24 tools × 10`));
    }
  });

  it('reaches min_per_tool exactly when the target allows it in single mode (24 × 10 = 240)', () => {
    const o = options({ mode: 'single', target: 240, minPerTool: 10 });
    const r = planExamples(hdf5, o);
    expectWellFormed(r, hdf5, graph, o);
    expect(Math.min(...Object.values(r.coverage))).toBeGreaterThanOrEqual(10);
    expect(r.warnings).toEqual([]);
    expect(r.byMode).toEqual({ single: 240, multi: 0 });
  });

  it('multi mode follows the dependency graph and names the tools no chain can hold', () => {
    const o = options({ mode: 'multi', target: 200 });
    const r = planExamples(hdf5, o);
    expectWellFormed(r, hdf5, graph, o);
    expect(r.byMode).toEqual({ single: 0, multi: 200 });
    const isolated = graph.tools.filter((t) => graph.successors.get(t)?.length === 0 && graph.predecessors.get(t)?.length === 0);
    expect(isolated).toContain('close_file');
    for (const t of isolated) {
      if (r.coverage[t] >= 4) continue; // a parallel call may still have used it
      expect(r.warnings).toContain(
        `${t}: in ${r.coverage[t]} of 4 examples: no multi-step chain can include it (no other tool's result feeds its parameters and its result feeds no other tool's parameter)`,
      );
    }
    // Every multi plan's links include one per consecutive pair of the chain.
    for (const p of r.plans) for (let s = 1; s < p.steps.length; s++) expect(p.links.some((l) => l.from.step === s - 1 && l.to.step === s && l.to.tool === p.steps[s][0])).toBe(true);
  });

  it('puts parallel calls only in steps of side-effect-free tools that do not depend on each other', () => {
    for (const mode of ['single', 'multi'] as const) {
      const o = options({ mode, target: 400, difficulty: { easy: 0, medium: 0, hard: 1 } });
      const r = planExamples(hdf5, o);
      expectWellFormed(r, hdf5, graph, o);
      expect(r.plans.filter((p) => p.steps.some((s) => s.length > 1)).length).toBeGreaterThan(20);
    }
    // open_file and close_file change the session: never in a parallel step.
    const r = planExamples(hdf5, options({ target: 1000, difficulty: { easy: 0, medium: 0, hard: 1 } }));
    for (const p of r.plans) for (const s of p.steps) if (s.length > 1) expect(s.filter((t) => t === 'open_file' || t === 'close_file')).toEqual([]);
  });

  it('is deterministic per seed and independent of the order of the tools', () => {
    const a = planExamples(hdf5, options());
    expect(planExamples(hdf5, options())).toEqual(a);
    expect(planExamples([...hdf5].reverse(), options())).toEqual(a);
    expect(planExamples(hdf5, options({ seed: 8 })).plans).not.toEqual(a.plans);
  });

  it('draws the difficulty mix exactly in proportion (largest remainder)', () => {
    const count = (r: PlanResult) => r.plans.reduce<Record<string, number>>((c, p) => ({ ...c, [p.difficulty]: (c[p.difficulty] ?? 0) + 1 }), {});
    expect(count(planExamples(hdf5, options()))).toEqual({ easy: 30, medium: 50, hard: 20 });
    const third = count(planExamples(hdf5, options({ target: 1000, difficulty: { easy: 1, medium: 1, hard: 1 } })));
    for (const d of ['easy', 'medium', 'hard']) expect(Math.abs(third[d] - 1000 / 3)).toBeLessThan(1);
    const zero = planExamples(hdf5, options({ difficulty: { easy: 0, medium: 0, hard: 0 } }));
    expect(zero.warnings[0]).toBe('difficulty weights are all zero: easy, medium and hard are drawn equally');
  });
});

describe('planExamples: modes and lengths', () => {
  it('auto mode makes simple tools mostly single and complex tools mostly chains', () => {
    const share = (c: Complexity) => {
      const r = planExamples(pipeline(8, c), options({ target: 400 }));
      return r.byMode.multi / r.plans.length;
    };
    expect(Math.abs(share('simple') - MULTI_SHARE.simple)).toBeLessThan(0.06);
    expect(Math.abs(share('medium') - MULTI_SHARE.medium)).toBeLessThan(0.06);
    expect(Math.abs(share('complex') - MULTI_SHARE.complex)).toBeLessThan(0.06);
    // On hdf5 (mostly simple tools), most examples are single.
    const r = planExamples(hdf5, options());
    expect(r.byMode.single).toBeGreaterThan(r.byMode.multi);
  });

  it('makes harder multi-step examples longer: easy 2 steps, medium 3, hard 4 to max_steps', () => {
    const tools = pipeline(10, 'complex');
    const o = options({ mode: 'multi', target: 300, maxSteps: 6 });
    const r = planExamples(tools, o);
    expectWellFormed(r, tools, dependencyGraph(tools), o);
    const lengths = (d: string) => r.plans.filter((p) => p.difficulty === d).map((p) => p.steps.length);
    expect(new Set(lengths('easy'))).toEqual(new Set([2]));
    expect(new Set(lengths('medium'))).toEqual(new Set([3]));
    for (const n of lengths('hard')) expect(n).toBeGreaterThanOrEqual(4);
    expect(Math.max(...lengths('hard'))).toBe(6);
    expect(r.warnings).toEqual([]);
  });

  it('plans nothing multi-step when max_steps leaves no room, and says so', () => {
    const r = planExamples(pipeline(4, 'complex'), options({ mode: 'multi', maxSteps: 1, minPerTool: 1, target: 10 }));
    expect(r.plans).toEqual([]);
    expect(r.warnings).toContain('max_steps 1 leaves no room for a multi-step example (it needs 2 steps)');
    expect(r.warnings).toContain('stage_0: in 0 of 1 examples: multi mode needs max_steps ≥ 2');
  });

  it('plans 100,000 examples over 1,000 tools quickly', () => {
    const tools = Array.from({ length: 1000 }, (_, i) => {
      const t = hdf5[i % hdf5.length];
      return { ...t, name: `${t.name}_${i}`, category: `${t.category}_${i % 7}` };
    });
    const started = performance.now();
    const r = planExamples(tools, options({ target: 100_000, minPerTool: 10 }));
    const ms = performance.now() - started;
    expect(r.plans).toHaveLength(100_000);
    expect(Math.min(...Object.values(r.coverage))).toBeGreaterThanOrEqual(10);
    // About 0.5 s on an idle core; the bound leaves room for a shared, busy machine.
    expect(ms).toBeLessThan(6000);
  });
});

describe('sideEffectFree', () => {
  const base = (name: string, origin: Tool['origin'], category = 'misc'): Tool => ({
    name, description: '', parameters: { type: 'object', properties: {} }, category, complexity: 'simple', examples: [], origin,
  });
  it('reads MCP hints, HTTP methods, then the name and category', () => {
    expect(sideEffectFree(base('write_note', { format: 'mcp', annotations: { readOnlyHint: true } }))).toBe(true);
    expect(sideEffectFree(base('get_note', { format: 'mcp', annotations: { readOnlyHint: false } }))).toBe(false);
    expect(sideEffectFree(base('get_note', { format: 'mcp' }))).toBe(false);
    const http = (method: string) => base('pets', { format: 'openapi', http: { method, path: '/pets', locations: {} } });
    expect(sideEffectFree(http('get'))).toBe(true);
    expect(sideEffectFree(http('HEAD'))).toBe(true);
    expect(sideEffectFree(http('POST'))).toBe(false);
    expect(sideEffectFree(base('list_keys', { format: 'generator' }))).toBe(true);
    expect(sideEffectFree(base('open_file', { format: 'generator' }))).toBe(false);
    expect(sideEffectFree(base('getWeather', { format: 'openai' }))).toBe(true);
    expect(sideEffectFree(base('optimize_access_pattern', { format: 'generator' }, 'discovery'))).toBe(false);
    expect(sideEffectFree(base('similar_datasets', { format: 'generator' }, 'discovery'))).toBe(true);
    expect(sideEffectFree(base('frobnicate', { format: 'generator' }))).toBe(false);
  });
});
