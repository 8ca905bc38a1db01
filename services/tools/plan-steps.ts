import { edgeBetween, type ToolEdge, type ToolGraph } from './dependency-graph.js';
import type { Difficulty } from './tool-example.js';

/**
 * The pieces of one plan, drawn in bounded work so planning stays linear in the number of
 * examples: a choice among many candidates looks at K random ones ("power of K choices"), never
 * at the whole list, so a tool with a thousand neighbours costs what one with ten does.
 */

export const K_CHOICES = 6;

export type Rng = () => number;

export type PlanMode = 'single' | 'multi';

/** Chance that an example gets a parallel step, by difficulty (parallel calls are a harder skill). */
export const PARALLEL_CHANCE: Record<Difficulty, number> = { easy: 0, medium: 0.15, hard: 0.35 };

/** Steps a multi-step example of this difficulty asks for: easy 2, medium 3, hard 4 to max_steps. */
export function chainLength(d: Difficulty, maxSteps: number, rng: Rng): number {
  const want = d === 'easy' ? 2 : d === 'medium' ? 3 : 4 + Math.floor(rng() * Math.max(1, maxSteps - 3));
  return Math.max(2, Math.min(maxSteps, want));
}

export interface PlanState {
  graph: ToolGraph;
  rng: Rng;
  /** Examples each tool is called in so far. */
  coverage: Map<string, number>;
  readOnly: ReadonlySet<string>;
  /** Tools per category, sorted. */
  byCategory: ReadonlyMap<string, string[]>;
  categoryOf: ReadonlyMap<string, string>;
}

export interface Link {
  from: { step: number; tool: string };
  to: { step: number; tool: string; parameter: string };
}

// The functions below run once or more per example: they take no callbacks and make no closures
// (under tsx every closure created costs a name definition, which dominated a profile).

/** The i-th of K candidates: a short list is read whole, a long one sampled. */
const candidate = <T>(list: readonly T[], i: number, rng: Rng): T => (list.length <= K_CHOICES ? list[i] : list[Math.floor(rng() * list.length)]);

/**
 * Of K candidate edges, the strongest to a tool not yet in the chain, weighted towards tools few
 * examples use yet (and a little noise, so equal candidates take turns).
 */
function growEdge(s: PlanState, list: readonly ToolEdge[], chain: readonly string[], forward: boolean): ToolEdge | undefined {
  let best: ToolEdge | undefined;
  let top = 0;
  for (let i = 0, tries = Math.min(K_CHOICES, list.length); i < tries; i++) {
    const e = candidate(list, i, s.rng);
    const tool = forward ? e.to : e.from;
    if (chain.includes(tool)) continue;
    const w = (e.score * (0.5 + s.rng())) / (1 + (s.coverage.get(tool) ?? 0));
    if (w > top) [best, top] = [e, w];
  }
  return best;
}

/**
 * A chain of up to `length` tools through `anchor`, each feeding the next (graph edges only),
 * grown forwards from its last tool or backwards from its first (a coin says which to try first).
 * Two tries, the longer kept: greedy growth can stop short of a longer chain, and a full search
 * would cost more than it gives.
 */
export function chainThrough(s: PlanState, anchor: string, length: number): string[] {
  let longest = [anchor];
  for (let attempt = 0; attempt < 2 && longest.length < length; attempt++) {
    const chain = [anchor];
    while (chain.length < length) {
      const forwardFirst = s.rng() < 0.5;
      let grown = false;
      for (let side = 0; side < 2 && !grown; side++) {
        const forward = side === 0 ? forwardFirst : !forwardFirst;
        const e = forward
          ? growEdge(s, s.graph.successors.get(chain[chain.length - 1]) ?? [], chain, true)
          : growEdge(s, s.graph.predecessors.get(chain[0]) ?? [], chain, false);
        if (e && forward) chain.push(e.to);
        else if (e) chain.unshift(e.from);
        grown = e !== undefined;
      }
      if (!grown) break;
    }
    if (chain.length > longest.length) longest = chain;
  }
  return longest;
}

/** May run in one step with `here`: side-effect free, not in the chain, and no edge either way. */
const fits = (s: PlanState, chain: readonly string[], here: string, t: string) =>
  t !== here && s.readOnly.has(t) && !chain.includes(t) && !edgeBetween(s.graph, t, here) && !edgeBetween(s.graph, here, t);

/**
 * A second call for step `at` of a chain, made in parallel with it: both tools side-effect free
 * and neither feeding the other. Preferred: a tool that also feeds the next step on another
 * parameter (a fan-in: its result is used); else a read-only tool of the same category.
 */
export function parallelSibling(s: PlanState, chain: readonly string[], links: readonly Link[], at: number): { tool: string; link?: Link } | undefined {
  const here = chain[at];
  if (!s.readOnly.has(here)) return undefined;
  const next = chain[at + 1];
  if (next !== undefined) {
    const feeders = s.graph.predecessors.get(next) ?? [];
    let best: ToolEdge | undefined;
    let top = 0;
    for (let i = 0, tries = Math.min(K_CHOICES, feeders.length); i < tries; i++) {
      const e = candidate(feeders, i, s.rng);
      if (!fits(s, chain, here, e.from) || links.some((l) => l.to.step === at + 1 && l.to.parameter === e.parameter)) continue;
      const w = e.score / (1 + (s.coverage.get(e.from) ?? 0));
      if (w > top) [best, top] = [e, w];
    }
    if (best) return { tool: best.from, link: { from: { step: at, tool: best.from }, to: { step: at + 1, tool: next, parameter: best.parameter } } };
  }
  const peers = s.byCategory.get(s.categoryOf.get(here) ?? '') ?? [];
  let peer: string | undefined;
  let top = 0;
  for (let i = 0, tries = Math.min(K_CHOICES, peers.length); i < tries; i++) {
    const t = candidate(peers, i, s.rng);
    const w = fits(s, chain, here, t) ? 1 / (1 + (s.coverage.get(t) ?? 0)) : 0;
    if (w > top) [peer, top] = [t, w];
  }
  return peer ? { tool: peer } : undefined;
}

/**
 * The steps of one example around its anchor tool. Single: the anchor, sometimes with a parallel
 * sibling. Multi: a chain through the anchor as long as the difficulty asks (or the graph allows:
 * `short` says it fell short), a link per consecutive pair, sometimes a parallel sibling.
 */
export function stepsOf(s: PlanState, anchor: string, mode: PlanMode, difficulty: Difficulty, maxSteps: number): { steps: string[][]; links: Link[]; short: boolean } {
  const links: Link[] = [];
  const parallel = s.rng() < PARALLEL_CHANCE[difficulty];
  if (mode === 'single') {
    const sibling = parallel ? parallelSibling(s, [anchor], links, 0) : undefined;
    return { steps: [sibling ? [anchor, sibling.tool] : [anchor]], links, short: false };
  }
  const length = chainLength(difficulty, maxSteps, s.rng);
  const chain = chainThrough(s, anchor, length);
  const steps = chain.map((t) => [t]);
  for (let i = 1; i < chain.length; i++) {
    const e = edgeBetween(s.graph, chain[i - 1], chain[i]);
    if (e) links.push({ from: { step: i - 1, tool: e.from }, to: { step: i, tool: e.to, parameter: e.parameter } });
  }
  if (parallel) {
    const at = Math.floor(s.rng() * chain.length);
    const sibling = parallelSibling(s, chain, links, at);
    if (sibling) {
      steps[at].push(sibling.tool);
      if (sibling.link) links.push(sibling.link);
    }
  }
  return { steps, links, short: chain.length < length };
}

/**
 * The tools an example offers: those it calls, then a few distractors (Gorilla: the documentation
 * of tools it should not call), from the called tools' categories first, then their graph
 * neighbours; at most `max` in all unless the calls alone need more. Shuffled, so the tool to call
 * is not always first.
 */
export function offeredTools(s: PlanState, called: readonly string[], max: number, distractors: number): string[] {
  const offered = [...called];
  const want = Math.min(distractors, max - called.length);
  // Category peers first, then graph neighbours, each sampled where it lies (never copied: a hub's
  // neighbour list may hold every tool).
  for (let round = 0; round < 3 && offered.length - called.length < want; round++)
    for (const t of called) {
      const peers = round === 0 ? s.byCategory.get(s.categoryOf.get(t) ?? '') : undefined;
      const edges = round === 1 ? s.graph.successors.get(t) : round === 2 ? s.graph.predecessors.get(t) : undefined;
      const size = peers?.length ?? edges?.length ?? 0;
      for (let i = 0; i < K_CHOICES && offered.length - called.length < want && size > 0; i++) {
        const at = Math.floor(s.rng() * size);
        const name = peers ? peers[at] : round === 1 ? edges?.[at].to : edges?.[at].from;
        if (name !== undefined && !offered.includes(name)) offered.push(name);
      }
    }
  for (let i = offered.length - 1; i > 0; i--) {
    const j = Math.floor(s.rng() * (i + 1));
    [offered[i], offered[j]] = [offered[j], offered[i]];
  }
  return offered;
}
