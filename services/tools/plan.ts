import { prng } from '../generate/sampling.js';
import { dependencyGraph } from './dependency-graph.js';
import { offeredTools, stepsOf, type Link, type PlanMode, type PlanState } from './plan-steps.js';
import { sideEffectFree } from './side-effects.js';
import type { Complexity, Tool } from './tool.js';
import { DIFFICULTIES, type Difficulty } from './tool-example.js';

/**
 * What `POST /v1/tools/generate` will ask the teacher for, decided before any call: per example,
 * single or multi, its difficulty, the tools of each step, which result feeds which parameter, and
 * the tools it offers. Pure and deterministic for a seed, and independent of the tools' order.
 *
 * Cost: the graph is built once; then each example takes O(K · max_steps) for its chain
 * (plan-steps.ts samples K candidates, never a whole neighbour list), O(K) for its distractors and
 * O(log H) per tool it calls on the coverage heap (H ≤ examples × tools per example). 100,000
 * examples over 1,000 tools is a few million steps. Measured under tsx on a shared, loaded 2-core
 * machine: 0.4 s (single), 0.6 s (auto), 0.9 s (multi), of which the graph takes ~0.1 s and
 * collecting the plans' own garbage about a third (load average 4 to 9 while measured).
 */

export { PARALLEL_CHANCE, type PlanMode } from './plan-steps.js';

export interface PlanOptions {
  mode: PlanMode | 'auto';
  target: number;
  minPerTool: number;
  maxSteps: number;
  /** Weights of each difficulty, e.g. the seed's 30/50/20. */
  difficulty: Record<Difficulty, number>;
  seed: number;
}

export interface ExamplePlan {
  index: number;
  mode: PlanMode;
  difficulty: Difficulty;
  /** Tool names per step; several names in one step = parallel calls. */
  steps: string[][];
  /** Which earlier result feeds which later parameter. */
  links: Link[];
  /**
   * Every tool whose documentation the example carries: the called ones plus 1–3 related
   * distractors (same category first, then graph neighbours; Gorilla style), at most MAX_OFFERED
   * unless the calls alone need more. Shuffled, so the tool to call is not always first.
   */
  offered: string[];
}

export interface PlanResult {
  plans: ExamplePlan[];
  /** Examples each tool is called in. */
  coverage: Record<string, number>;
  byMode: Record<PlanMode, number>;
  warnings: string[];
}

/**
 * Auto mode's share of multi-step examples by the tool's complexity. The seed answers an
 * instruction single when its difficulty is simple and otherwise looks for chaining words, and
 * adds a multi-tool batch of half as many instructions; per tool that is mostly single for simple
 * tools and mostly chains for complex ones, which these shares make explicit. A tool no chain can
 * hold (no edge in or out of it) is always single. Per tool the k-th example it anchors is multi
 * when ⌊(k+1)·share + φ⌋ > ⌊k·share + φ⌋ (φ a seeded phase per tool): the share holds exactly
 * for every tool, not only on average.
 */
export const MULTI_SHARE: Record<Complexity, number> = { simple: 0.25, medium: 0.5, complex: 0.75 };

export const MAX_OFFERED = 8;
const MAX_DISTRACTORS = 3;

/** Difficulties for `n` examples in the given proportions (largest remainder), shuffled. */
function difficultySequence(n: number, weights: Record<Difficulty, number>, rng: () => number, warnings: string[]): Difficulty[] {
  const w = DIFFICULTIES.map((d) => (Number.isFinite(weights[d]) && weights[d] > 0 ? weights[d] : 0));
  const total = w.reduce((a, b) => a + b, 0);
  if (total === 0) warnings.push('difficulty weights are all zero: easy, medium and hard are drawn equally');
  const share = w.map((x) => (total === 0 ? 1 / 3 : x / total));
  const counts = share.map((s) => Math.floor(s * n));
  const order = share.map((s, i) => ({ i, rest: s * n - counts[i] })).sort((a, b) => b.rest - a.rest || a.i - b.i);
  for (let k = 0; counts.reduce((a, b) => a + b, 0) < n; k++) counts[order[k % 3].i]++;
  const seq = DIFFICULTIES.flatMap((d, i) => Array<Difficulty>(counts[i]).fill(d));
  for (let i = seq.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [seq[i], seq[j]] = [seq[j], seq[i]];
  }
  return seq;
}

/** A binary min-heap of numbers (the coverage queue: count × n + rank). */
class MinHeap {
  private readonly a: number[] = [];
  get size() {
    return this.a.length;
  }
  push(x: number) {
    const a = this.a;
    let i = a.push(x) - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p] <= x) break;
      a[i] = a[p];
      i = p;
    }
    a[i] = x;
  }
  pop(): number | undefined {
    const a = this.a;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last !== undefined) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= a.length) break;
        const c = l + 1 < a.length && a[l + 1] < a[l] ? l + 1 : l;
        if (a[c] >= last) break;
        a[i] = a[c];
        i = c;
      }
      a[i] = last;
    }
    return top;
  }
}

/**
 * Each example is anchored on the tool used least so far (a min-heap on coverage; ties by a seeded
 * rank), and the anchor is always called. So after T examples over n anchor tools every one is in
 * at least ⌊T/n⌋ (an example below c raises a tool below c, and there are at most n·c such
 * raises); chains and parallel calls only add. Tools a mode cannot place are never anchors, and
 * every tool left under `minPerTool` gets a warning saying why.
 */
export function planExamples(input: readonly Tool[], o: PlanOptions): PlanResult {
  const warnings: string[] = [];
  const tools = [...input].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const names = tools.map((t) => t.name);
  const graph = dependencyGraph(tools);
  const rng = prng(o.seed);
  const n = tools.length;
  const byCategory = new Map<string, string[]>();
  for (const t of tools) {
    const peers = byCategory.get(t.category);
    if (peers) peers.push(t.name);
    else byCategory.set(t.category, [t.name]);
  }
  const s: PlanState = {
    graph, rng, coverage: new Map(names.map((t) => [t, 0])),
    readOnly: new Set(tools.filter(sideEffectFree).map((t) => t.name)), byCategory, categoryOf: new Map(tools.map((t) => [t.name, t.category])),
  };
  const chainable = new Set(names.filter((t) => (graph.successors.get(t)?.length ?? 0) + (graph.predecessors.get(t)?.length ?? 0) > 0));
  const multiPossible = o.maxSteps >= 2;
  if (!multiPossible && o.mode !== 'single') warnings.push(`max_steps ${o.maxSteps} leaves no room for a multi-step example (it needs 2 steps)`);
  const anchors = tools.filter((t) => o.mode !== 'multi' || (multiPossible && chainable.has(t.name)));
  const target = Math.max(0, Math.floor(o.target));
  const difficulties = difficultySequence(target, o.difficulty, rng, warnings);

  // Ties in coverage go to a seeded random rank; auto mode's single/multi rhythm starts at a seeded phase per tool.
  const rank = anchors.map((_, i) => i);
  for (let i = rank.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [rank[i], rank[j]] = [rank[j], rank[i]];
  }
  const toolAt = new Array<Tool>(anchors.length);
  const rankOf = new Map<string, number>();
  anchors.forEach((t, i) => {
    toolAt[rank[i]] = t;
    rankOf.set(t.name, rank[i]);
  });
  const phase = new Map(anchors.map((t) => [t.name, rng()]));
  const anchored = new Map<string, number>();
  const heap = new MinHeap();
  const m = Math.max(1, anchors.length);
  for (const t of anchors) heap.push(rankOf.get(t.name) ?? 0);

  const plans: ExamplePlan[] = [];
  const byMode: Record<PlanMode, number> = { single: 0, multi: 0 };
  let short = 0;
  while (plans.length < target && heap.size > 0) {
    const key = heap.pop() ?? 0;
    const anchor = toolAt[key % m];
    if (Math.floor(key / m) !== s.coverage.get(anchor.name)) continue; // stale: its count has grown since
    const index = plans.length;
    const difficulty = difficulties[index];
    const k = anchored.get(anchor.name) ?? 0;
    anchored.set(anchor.name, k + 1);
    const canChain = multiPossible && chainable.has(anchor.name);
    const share = MULTI_SHARE[anchor.complexity];
    const p = phase.get(anchor.name) ?? 0;
    const mode: PlanMode =
      o.mode === 'single' || !canChain ? 'single' : o.mode === 'multi' ? 'multi' : Math.floor((k + 1) * share + p) > Math.floor(k * share + p) ? 'multi' : 'single';
    const { steps, links, short: cut } = stepsOf(s, anchor.name, mode, difficulty, o.maxSteps);
    if (cut) short++;
    const called = calledTools(steps);
    for (const t of called) {
      const c = (s.coverage.get(t) ?? 0) + 1;
      s.coverage.set(t, c);
      const r = rankOf.get(t);
      if (r !== undefined) heap.push(c * m + r);
    }
    byMode[mode]++;
    const distractors = 1 + Math.floor(rng() * MAX_DISTRACTORS);
    plans.push({ index, mode, difficulty, steps, links, offered: offeredTools(s, called, MAX_OFFERED, distractors) });
  }
  if (short > 0) warnings.push(`${short} multi-step example(s) are shorter than their difficulty asks: no longer chain through their tool follows the dependency graph`);
  if (plans.length < target) warnings.push(`only ${plans.length} of ${target} examples could be planned: no tool can be placed in ${o.mode} mode`);
  warnings.push(...coverageWarnings(names, s.coverage, plans, o, chainable, multiPossible));
  return { plans, coverage: Object.fromEntries(names.map((t) => [t, s.coverage.get(t) ?? 0])), byMode, warnings };
}

/** The distinct tools of a plan's steps, in first-call order. */
export function calledTools(steps: readonly string[][]): string[] {
  const out: string[] = [];
  for (const step of steps) for (const t of step) if (!out.includes(t)) out.push(t);
  return out;
}

/** One line per tool below `min_per_tool`, saying why. */
function coverageWarnings(
  names: readonly string[], coverage: ReadonlyMap<string, number>, plans: readonly ExamplePlan[], o: PlanOptions,
  chainable: ReadonlySet<string>, multiPossible: boolean,
): string[] {
  const calls = plans.reduce((sum, p) => sum + calledTools(p.steps).length, 0);
  const perExample = plans.length > 0 ? calls / plans.length : 1;
  const placeable = names.filter((t) => o.mode !== 'multi' || (multiPossible && chainable.has(t)));
  const needed = Math.ceil((placeable.length * o.minPerTool) / perExample);
  return names.flatMap((t) => {
    const c = coverage.get(t) ?? 0;
    if (c >= o.minPerTool) return [];
    if (o.mode === 'multi' && !multiPossible) return [`${t}: in 0 of ${o.minPerTool} examples: multi mode needs max_steps ≥ 2`];
    if (o.mode === 'multi' && !chainable.has(t))
      return [`${t}: in ${c} of ${o.minPerTool} examples: no multi-step chain can include it (no other tool's result feeds its parameters and its result feeds no other tool's parameter)`];
    if (o.target < needed)
      return [`${t}: in ${c} of ${o.minPerTool} examples: target ${o.target} is below the ${needed} examples needed for ${placeable.length} tools × ${o.minPerTool} at ${perExample.toFixed(2)} tools per example`];
    return [`${t}: in ${c} of ${o.minPerTool} examples although target ${o.target} reaches the ${needed} needed on average: chains through other tools took the places`];
  });
}
