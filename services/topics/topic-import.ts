import { AppError } from '../../src/errors.js';
import { pacer } from '../../src/pacer.js';
import { findRefusal, refusalError } from '../../src/safe-input.js';
import { LIMITS } from '../limits.js';
import { topicHash, treeNodeIds, type TopicNode } from './topic-structure.js';

const bad = (field: string, message: string) => new AppError('validation_failed', `${field}: ${message}`, [{ field, message }]);
const fmt = (n: number) => n.toLocaleString('en-US');

/** A topic as imported: a non-empty string of bounded length, or the reason it is not. */
function topicProblem(topic: unknown): string | undefined {
  if (typeof topic !== 'string' || !topic.trim()) return 'must be a non-empty string';
  if (topic.length > LIMITS.topicChars) return `is ${fmt(topic.length)} characters; at most ${fmt(LIMITS.topicChars)}`;
  return undefined;
}

/**
 * Reads DeepFabric tree JSONL: every line a `{"path": [non-empty strings]}` from the same root.
 * Linear in the file: each line's node ids share one hash state, and paths are bounded
 * (LIMITS.importPathLength topics, LIMITS.importNodes in all). A UTF-8 byte order mark is skipped.
 */
export async function fromTreeJsonl(text: string, pace = pacer()): Promise<TopicNode[]> {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const nodes = new Map<string, TopicNode>();
  let root: string | undefined;
  for (let start = 0, n = 1; start < body.length; n++) {
    const newline = body.indexOf('\n', start);
    const end = newline < 0 ? body.length : newline;
    const line = body.slice(start, end);
    start = end + 1;
    if (!line.trim()) continue;
    const field = `line.${n}`;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch (err) {
      throw bad(field, `not JSON: ${(err as Error).message}`);
    }
    // The edge guards read only the lines that could hide a refused string or key; nesting is checked here.
    const refusal = findRefusal(parsed, field);
    if (refusal) throw refusalError(refusal);
    const path = (parsed as { path?: unknown })?.path;
    if (!Array.isArray(path) || path.length === 0) throw bad(field, 'needs "path": a non-empty array of topic strings');
    if (path.length > LIMITS.importPathLength) throw bad(field, `the path has ${fmt(path.length)} topics; at most ${LIMITS.importPathLength}`);
    path.forEach((t, i) => {
      const problem = topicProblem(t);
      if (problem) throw bad(field, `path[${i}] ${problem}`);
    });
    if (root !== undefined && path[0] !== root) throw bad(field, `path starts at "${path[0]}", not at the root "${root}"`);
    root = path[0];
    const ids = treeNodeIds(path);
    path.forEach((topic: string, depth: number) => {
      if (nodes.has(ids[depth])) return;
      nodes.set(ids[depth], { id: ids[depth], topic, depth, parents: depth === 0 ? [] : [ids[depth - 1]], topic_hash: topicHash(topic) });
    });
    if (nodes.size > LIMITS.importNodes) throw bad(field, `the tree has more than ${fmt(LIMITS.importNodes)} topics`);
    await pace();
  }
  if (nodes.size === 0) throw bad('body', 'no paths in the tree file');
  return [...nodes.values()];
}

type GraphNodeIn = { id?: unknown; topic?: unknown; children?: unknown; metadata?: { uuid?: unknown; topic_hash?: unknown } };

/**
 * Reads DeepFabric graph JSON (`nodes` keyed by integer id, `root_id`, optional metadata). Every
 * malformed node is a 400 naming it (`nodes.<key>.<field>`): ids and uuids unique, children that
 * exist, every node reachable from the root within LIMITS.importPathLength, and no cycles — a
 * topic graph is a DAG, which is what lets its paths be counted without listing them.
 */
export async function fromGraphJson(value: unknown, pace = pacer()): Promise<{ nodes: TopicNode[]; metadata?: Record<string, unknown> }> {
  const g = value as { nodes?: unknown; root_id?: unknown; metadata?: unknown };
  if (!g || typeof g !== 'object' || !g.nodes || typeof g.nodes !== 'object' || Array.isArray(g.nodes)) throw bad('nodes', 'must be an object of nodes keyed by id');
  const entries = Object.entries(g.nodes as Record<string, GraphNodeIn>);
  if (entries.length === 0) throw bad('nodes', 'has no nodes');
  if (entries.length > LIMITS.importNodes) throw bad('nodes', `has ${fmt(entries.length)} nodes; at most ${fmt(LIMITS.importNodes)}`);
  if (g.metadata !== undefined && (!g.metadata || typeof g.metadata !== 'object' || Array.isArray(g.metadata))) throw bad('metadata', 'must be an object');
  if (g.metadata !== undefined && JSON.stringify(g.metadata).length > LIMITS.importMetadataBytes) throw bad('metadata', `at most ${fmt(LIMITS.importMetadataBytes)} bytes`);

  const keyOf = new Map<number, string>();
  const idOf = new Map<number, string>();
  const ownerOf = new Map<string, string>();
  for (const [key, n] of entries) {
    if (!n || typeof n !== 'object' || Array.isArray(n)) throw bad(`nodes.${key}`, 'must be an object');
    const problem = topicProblem(n.topic);
    if (problem) throw bad(`nodes.${key}.topic`, problem);
    if (!Number.isSafeInteger(n.id)) throw bad(`nodes.${key}.id`, 'must be an integer');
    const num = n.id as number;
    if (keyOf.has(num)) throw bad(`nodes.${key}.id`, `${num} is also the id of nodes.${keyOf.get(num)}`);
    keyOf.set(num, key);
    const uuid = n.metadata?.uuid;
    if (uuid !== undefined && (typeof uuid !== 'string' || !uuid || uuid.length > 128)) throw bad(`nodes.${key}.metadata.uuid`, 'must be a string of 1 to 128 characters');
    const id = uuid ?? `n${num}`;
    const field = uuid !== undefined ? `nodes.${key}.metadata.uuid` : `nodes.${key}.id`;
    if (ownerOf.has(id)) throw bad(field, `gives node id "${id}", which nodes.${ownerOf.get(id)} has too`);
    ownerOf.set(id, key);
    idOf.set(num, id);
    await pace();
  }
  if (!Number.isSafeInteger(g.root_id) || !keyOf.has(g.root_id as number)) throw bad('root_id', 'must be the id of a node in nodes');
  const rootNum = g.root_id as number;

  const childrenOf = new Map<number, number[]>();
  const parentsOf = new Map<number, number[]>();
  let edges = 0;
  for (const [key, n] of entries) {
    const listed = n.children ?? [];
    if (!Array.isArray(listed)) throw bad(`nodes.${key}.children`, 'must be an array of node ids');
    const children = [...new Set(listed)];
    for (const c of children) {
      if (!Number.isSafeInteger(c) || !idOf.has(c)) throw bad(`nodes.${key}.children`, `names node ${JSON.stringify(c)}, which is not in nodes`);
      const parents = parentsOf.get(c);
      if (parents) parents.push(n.id as number);
      else parentsOf.set(c, [n.id as number]);
    }
    edges += children.length;
    if (edges > LIMITS.importEdges) throw bad(`nodes.${key}.children`, `the graph has more than ${fmt(LIMITS.importEdges)} links`);
    childrenOf.set(n.id as number, children);
    await pace();
  }

  // Depth is the shortest distance from the root, found breadth first.
  const depth = new Map<number, number>([[rootNum, 0]]);
  const queue = [rootNum];
  for (let i = 0; i < queue.length; i++) {
    for (const c of childrenOf.get(queue[i])!) {
      if (depth.has(c)) continue;
      const d = depth.get(queue[i])! + 1;
      if (d >= LIMITS.importPathLength) throw bad(`nodes.${keyOf.get(c)}`, `is ${d} links below the root; a path has at most ${LIMITS.importPathLength} topics`);
      depth.set(c, d);
      queue.push(c);
    }
    await pace();
  }
  const unreachable = entries.find(([, n]) => !depth.has(n.id as number));
  if (unreachable) throw bad(`nodes.${unreachable[0]}`, `node "${unreachable[1].topic}" cannot be reached from the root`);
  await findCycle(rootNum, childrenOf, keyOf, pace);

  const nodes: TopicNode[] = [];
  for (const [, n] of entries) {
    const num = n.id as number;
    const hash = n.metadata?.topic_hash;
    nodes.push({
      id: idOf.get(num)!,
      topic: n.topic as string,
      depth: depth.get(num)!,
      parents: num === rootNum ? [] : parentsOf.get(num)!.map((p) => idOf.get(p)!),
      topic_hash: typeof hash === 'string' && hash.length <= 128 ? hash : topicHash(n.topic as string),
    });
    await pace();
  }
  const root = nodes.find((n) => n.parents.length === 0)!;
  return { nodes: [root, ...nodes.filter((n) => n !== root)], metadata: g.metadata as Record<string, unknown> | undefined };
}

/** Depth first from the root: a child still on the stack closes a cycle, a 400 naming the node that links back. */
async function findCycle(root: number, childrenOf: Map<number, number[]>, keyOf: Map<number, string>, pace: () => Promise<void> | undefined) {
  const state = new Map<number, 'open' | 'done'>([[root, 'open']]);
  const stack = [{ id: root, next: 0 }];
  while (stack.length) {
    const top = stack[stack.length - 1];
    const children = childrenOf.get(top.id)!;
    if (top.next === children.length) {
      state.set(top.id, 'done');
      stack.pop();
      continue;
    }
    const c = children[top.next++];
    if (state.get(c) === 'open') throw bad(`nodes.${keyOf.get(top.id)}.children`, `links back to node ${c}, which leads to this node: a topic graph must not have cycles`);
    if (!state.has(c)) {
      state.set(c, 'open');
      stack.push({ id: c, next: 0 });
    }
    await pace();
  }
}
