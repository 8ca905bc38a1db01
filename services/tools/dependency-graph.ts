import type { JsonSchemaObject, Tool } from './tool.js';
import {
  descriptionOf, itemsOf, key, nameScore, namesInText, givenByName, propertiesOf, requiredOf, typeScore, typesOf, words,
} from './tool-words.js';

/**
 * In-N-Out's parameter-level dependency graph: an edge A → B (on B's parameter p) when A's result,
 * or a property of it, or an element of it, can be passed as p. The seed links by type alone
 * (every string result feeds every string parameter); here a type match is necessary but a name is
 * what makes an edge:
 *
 *   score = type × name × source
 *   type   1.0 same JSON type, 0.8 p takes any value, 0.6 compatible (integer → number, unknown → any)
 *   name   1.0 same words (`file_id` → `fileId`), 0.8 p's words end the source's (`dataset_path` → `path`),
 *          0.5 the source's words end p's (`path` → `dataset_path`)
 *   source 1.0 a property of the result (`result.file_id`; a one-word property is read with what
 *          the tool's name gives, `getTask`'s `id` as `task id`, and alone it fills only a parameter
 *          of exactly its name), 0.9 what a tool's name after a verb gives (`get_file_id`,
 *          `listTasks`; one word, as `get_size`, fills only a parameter of exactly that name), 0.8
 *          a name in the returns description ("list of paths"); × 0.9 for an element of an array result
 *
 * Two more kinds of evidence: p's description names A (`"id returned by create_user"`, type × 1.0),
 * and a bare type match, kept only for a *required* array or object parameter (0.3: a list result
 * filling a list slot is plausible, a message string filling every string slot is not).
 * Edges scoring under MIN_EDGE_SCORE are dropped.
 */

export const MIN_EDGE_SCORE = 0.25;
const BARE_TYPE = 0.3;
const ELEMENT = 0.9;

export type EdgeEvidence = 'property' | 'name' | 'description' | 'parameter-description' | 'type';

export interface ToolEdge {
  from: string;
  to: string;
  /** The parameter of `to` that `from`'s output fills. */
  parameter: string;
  score: number;
  /** Which part of `from`'s result: `result`, `result.file_id`, `result[]` (an element), `result[].id`. */
  output: string;
  evidence: EdgeEvidence;
}

export interface ToolGraph {
  /** Tool names, sorted. */
  tools: string[];
  /** Every (from, to, parameter) edge with its best score, sorted by from, to, parameter. */
  edges: ToolEdge[];
  /** Per tool, the best edge to each tool it can feed, best first (ties by name). */
  successors: ReadonlyMap<string, ToolEdge[]>;
  /** Per tool, the best edge from each tool that can feed it, best first. */
  predecessors: ReadonlyMap<string, ToolEdge[]>;
  /** The best edge per ordered pair: pairs.get(from).get(to) (see edgeBetween). */
  pairs: ReadonlyMap<string, ReadonlyMap<string, ToolEdge>>;
  /** Tools with no required parameter: they can start a chain without anything from the user. */
  entryPoints: string[];
}

interface Source {
  output: string;
  types: string[];
  names: SourceName[];
  /** A bare type match may link it (the result itself or a property, not an element). */
  bare: boolean;
}

interface SourceName {
  words: string[];
  factor: number;
  evidence: EdgeEvidence;
  /** Only a parameter of exactly these words (a bare `id` must not fill every `*_id`). */
  exact?: boolean;
}

interface Target {
  tool: string;
  parameter: string;
  words: string[];
  types: string[];
  required: boolean;
  description: string;
}

/**
 * A property is named twice: qualified by what the tool's name says it gives (`getTask`'s `id`
 * reads `task id`, filling `taskId` or a plain `id`), and as it is, for a parameter of exactly
 * that name (`status` → `status`), never for a longer one (`id` does not fill `assignee_id`).
 */
function propertyNames(k: string, owner: string[] | undefined, factor: number): SourceName[] {
  const own = words(k);
  const names: SourceName[] = [{ words: own, factor, evidence: 'property', exact: true }];
  if (owner && own.length === 1 && owner[owner.length - 1] !== own[0]) names.push({ words: [...owner, ...own], factor, evidence: 'property' });
  else if (own.length > 1) names[0] = { words: own, factor, evidence: 'property' };
  return names;
}

function sourcesOf(tool: Tool): Source[] {
  const given = givenByName(tool.name);
  // One word (`get_size` → `size`) fills only a parameter of that name, not `chunk_size`.
  const byName: SourceName[] = given ? [{ words: given, factor: 0.9, evidence: 'name', exact: given.length === 1 }] : [];
  const r = tool.returns;
  if (!r) return [{ output: 'result', types: ['any'], names: byName, bare: false }];
  const described = namesInText(descriptionOf(r)).map((ws): SourceName => ({ words: ws, factor: 0.8, evidence: 'description' }));
  const own = [...byName, ...described];
  const props = (schema: JsonSchemaObject | undefined, prefix: string, factor: number, bare: boolean): Source[] =>
    propertiesOf(schema).map(([k, p]) => ({ output: `${prefix}.${k}`, types: typesOf(p), names: propertyNames(k, given, factor), bare }));
  const sources: Source[] = [{ output: 'result', types: typesOf(r), names: own, bare: true }, ...props(r, 'result', 1, true)];
  if (typesOf(r).includes('array')) {
    const items = itemsOf(r);
    const element = own.map((n) => ({ ...n, factor: n.factor * ELEMENT }));
    sources.push({ output: 'result[]', types: typesOf(items), names: element, bare: false }, ...props(items, 'result[]', ELEMENT, false));
  }
  return sources;
}

function targetsOf(tool: Tool): Target[] {
  const required = requiredOf(tool.parameters);
  return propertiesOf(tool.parameters).map(([parameter, schema]) => ({
    tool: tool.name, parameter, words: words(parameter), types: typesOf(schema), required: required.has(parameter),
    description: descriptionOf(schema),
  }));
}

const push = <K, V>(map: Map<K, V[]>, k: K, v: V) => {
  const list = map.get(k);
  if (list) list.push(v);
  else map.set(k, [v]);
};

const round = (x: number) => Math.round(x * 1000) / 1000;

export function dependencyGraph(input: readonly Tool[]): ToolGraph {
  const tools = [...input].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const byName = new Map(tools.map((t) => [t.name, t]));
  // Indexes so a source is compared with the parameters its names can match, not with every parameter.
  const bySuffix = new Map<string, Target[]>(); // every suffix of a parameter's words (the whole included)
  const bareSlots = new Map<string, Target[]>(); // required array/object parameters by type
  const mentions: Array<{ target: Target; tool: string }> = [];
  for (const tool of tools) {
    for (const t of targetsOf(tool)) {
      for (let i = 0; i < t.words.length; i++) push(bySuffix, key(t.words.slice(i)), t);
      if (t.required) for (const type of t.types) if (type === 'array' || type === 'object') push(bareSlots, type, t);
      for (const token of new Set(t.description.match(/[A-Za-z0-9_-]+/g) ?? []))
        if (byName.has(token) && token !== tool.name) mentions.push({ target: t, tool: token });
    }
  }

  // Per source tool, the best edge per target parameter (keyed by the Target object, no string keys:
  // a hub's description may be compared with most parameters of a large tool set).
  const best = new Map<string, Map<Target, ToolEdge>>();
  const offer = (from: string, t: Target, score: number, output: string, evidence: EdgeEvidence) => {
    if (from === t.tool || score < MIN_EDGE_SCORE) return;
    let row = best.get(from);
    if (!row) best.set(from, (row = new Map()));
    const had = row.get(t);
    if (!had || score > had.score) row.set(t, { from, to: t.tool, parameter: t.parameter, score: round(score), output, evidence });
  };

  const sourcesByTool = new Map(tools.map((t) => [t.name, sourcesOf(t)]));
  for (const [from, sources] of sourcesByTool) {
    for (const s of sources) {
      for (const n of s.names) {
        // Parameters whose words end with the source's, then those whose words end the source's.
        for (const t of bySuffix.get(key(n.words)) ?? []) offer(from, t, typeScore(s.types, t.types) * nameScore(n.words, t.words, n.exact) * n.factor, s.output, n.evidence);
        for (let i = 1; i < n.words.length && !n.exact; i++)
          for (const t of bySuffix.get(key(n.words.slice(i))) ?? [])
            if (t.words.length === n.words.length - i) offer(from, t, typeScore(s.types, t.types) * nameScore(n.words, t.words) * n.factor, s.output, n.evidence);
      }
      if (s.bare) for (const type of s.types) for (const t of bareSlots.get(type) ?? []) if (t.types.includes(type)) offer(from, t, BARE_TYPE, s.output, 'type');
    }
  }
  for (const { target, tool } of mentions) {
    let top: Source | undefined;
    let score = 0;
    for (const s of sourcesByTool.get(tool) ?? []) {
      const ts = typeScore(s.types, target.types);
      if (ts > score) [top, score] = [s, ts];
    }
    if (top) offer(tool, target, score, top.output, 'parameter-description');
  }

  const edges = [...best.values()].flatMap((row) => [...row.values()]).sort((a, b) => cmp(a.from, b.from) || cmp(a.to, b.to) || cmp(a.parameter, b.parameter));
  const successors = new Map<string, ToolEdge[]>(tools.map((t) => [t.name, []]));
  const predecessors = new Map<string, ToolEdge[]>(tools.map((t) => [t.name, []]));
  const pairs = new Map<string, Map<string, ToolEdge>>(tools.map((t) => [t.name, new Map()]));
  for (const e of edges) {
    const row = pairs.get(e.from);
    const had = row?.get(e.to);
    if (!had || e.score > had.score) row?.set(e.to, e);
  }
  for (const row of pairs.values())
    for (const e of row.values()) {
      successors.get(e.from)?.push(e);
      predecessors.get(e.to)?.push(e);
    }
  const order = (a: ToolEdge, b: ToolEdge, side: 'from' | 'to') => b.score - a.score || cmp(a[side], b[side]);
  for (const list of successors.values()) list.sort((a, b) => order(a, b, 'to'));
  for (const list of predecessors.values()) list.sort((a, b) => order(a, b, 'from'));
  const entryPoints = tools.filter((t) => requiredOf(t.parameters).size === 0).map((t) => t.name);
  return { tools: tools.map((t) => t.name), edges, successors, predecessors, pairs, entryPoints };
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The best edge from one tool to another, if the first can feed the second. */
export function edgeBetween(graph: ToolGraph, from: string, to: string): ToolEdge | undefined {
  return graph.pairs.get(from)?.get(to);
}

/** What is wrong with a chain: unknown tools, repeats, and consecutive tools with no edge. */
export function validateChain(graph: ToolGraph, chain: readonly string[]): string[] {
  const issues: string[] = [];
  chain.forEach((name, i) => {
    if (!graph.successors.has(name)) issues.push(`step ${i}: unknown tool ${name}`);
    else if (chain.indexOf(name) !== i) issues.push(`step ${i}: ${name} is called twice`);
    if (i > 0 && !edgeBetween(graph, chain[i - 1], name)) issues.push(`step ${i}: ${chain[i - 1]}'s result feeds no parameter of ${name}`);
  });
  return issues;
}

/**
 * Up to `limit` distinct feasible chains of exactly `length` tools (each feeds the next, no tool
 * twice), found by a randomised depth-first search; the work is bounded (`budget` expansions), so
 * a sparse graph answers fewer chains rather than searching for long.
 */
export function chains(graph: ToolGraph, length: number, rng: () => number, limit = 20, budget = 2000 * length): string[][] {
  const found = new Map<string, string[]>();
  const starts = graph.tools.filter((t) => (graph.successors.get(t)?.length ?? 0) > 0);
  let spent = 0;
  const walk = (path: string[]): void => {
    if (found.size >= limit || spent++ > budget) return;
    if (path.length === length) {
      found.set(path.join('\u0000'), [...path]);
      return;
    }
    const next = shuffled(graph.successors.get(path[path.length - 1]) ?? [], rng);
    for (const e of next) if (!path.includes(e.to)) walk([...path, e.to]);
  };
  if (length === 1) return graph.tools.slice(0, limit).map((t) => [t]);
  for (const s of shuffled(starts, rng)) {
    if (found.size >= limit || spent > budget) break;
    walk([s]);
  }
  return [...found.values()];
}

function shuffled<T>(list: readonly T[], rng: () => number): T[] {
  const out = [...list];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
