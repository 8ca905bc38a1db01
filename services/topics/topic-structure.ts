import { createHash } from 'node:crypto';
import { AppError } from '../../src/errors.js';

/** A node as stored (one record per node, key = id). */
export interface TopicNode {
  id: string;
  topic: string;
  depth: number;
  parents: string[];
  topic_hash: string;
  /** Trees: the root → node path. */
  path?: string[];
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
export const topicHash = (topic: string) => sha256(topic);
/** Tree ids hash the path (DeepFabric's rule), so the same path is the same node in any run. */
export const treeNodeId = (path: string[]) => sha256(JSON.stringify(path)).slice(0, 16);
/** Graph ids derive from the parent and position, so a redone expansion writes the same nodes. */
export const graphNodeId = (parentId: string, index: number) => sha256(`${parentId}/${index}`).slice(0, 16);

export interface Structure {
  root: TopicNode | undefined;
  nodes: TopicNode[];
  edges: Array<{ from: string; to: string }>;
  /** Root → leaf topic paths, each node at most once per path (cycle-safe). */
  paths: string[][];
}

export function structureOf(nodes: TopicNode[]): Structure {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const children = new Map<string, string[]>();
  const edges: Structure['edges'] = [];
  for (const n of nodes) {
    for (const p of n.parents) {
      if (!byId.has(p)) continue;
      edges.push({ from: p, to: n.id });
      children.set(p, [...(children.get(p) ?? []), n.id]);
    }
  }
  const root = nodes.find((n) => n.parents.length === 0);
  const paths: string[][] = [];
  const walk = (id: string, trail: string[], seen: Set<string>) => {
    const node = byId.get(id)!;
    const next = (children.get(id) ?? []).filter((c) => !seen.has(c));
    const path = [...trail, node.topic];
    if (next.length === 0) {
      paths.push(path);
      return;
    }
    for (const c of next) walk(c, path, new Set([...seen, c]));
  };
  if (root) walk(root.id, [], new Set([root.id]));
  return { root, nodes, edges, paths };
}

/** DeepFabric's tree file: one `{"path": [...]}` per root → leaf path. */
export const toTreeJsonl = (s: Structure) => s.paths.map((path) => JSON.stringify({ path })).join('\n') + (s.paths.length ? '\n' : '');

/** DeepFabric's graph file: integer ids in creation order, root 0, uuid and topic_hash in metadata. */
export function toGraphJson(s: Structure, meta: { provider?: string; model?: string; temperature?: number; created_at: string }) {
  const order = s.root ? [s.root, ...s.nodes.filter((n) => n !== s.root)] : s.nodes;
  const num = new Map(order.map((n, i) => [n.id, i]));
  const nodes: Record<string, unknown> = {};
  for (const n of order) {
    const i = num.get(n.id)!;
    nodes[String(i)] = {
      id: i,
      topic: n.topic,
      children: s.edges.filter((e) => e.from === n.id).map((e) => num.get(e.to)),
      parents: n.parents.filter((p) => num.has(p)).map((p) => num.get(p)),
      metadata: { uuid: n.id, topic_hash: n.topic_hash },
    };
  }
  return { nodes, root_id: 0, metadata: { provider: meta.provider ?? 'unknown', model: meta.model ?? 'unknown', temperature: meta.temperature ?? 0, created_at: meta.created_at } };
}

const bad = (field: string, message: string) => new AppError('validation_failed', `${field}: ${message}`, [{ field, message }]);

/** Reads DeepFabric tree JSONL: every line a `{"path": [non-empty strings]}` from the same root. */
export function fromTreeJsonl(text: string): TopicNode[] {
  const nodes = new Map<string, TopicNode>();
  let root: string | undefined;
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch (err) {
      throw bad(`line.${i + 1}`, `not JSON: ${(err as Error).message}`);
    }
    const path = (parsed as { path?: unknown })?.path;
    if (!Array.isArray(path) || path.length === 0 || !path.every((t) => typeof t === 'string' && t.trim())) throw bad(`line.${i + 1}`, 'needs "path": a non-empty array of topic strings');
    if (root !== undefined && path[0] !== root) throw bad(`line.${i + 1}`, `path starts at "${path[0]}", not at the root "${root}"`);
    root = path[0];
    path.forEach((topic: string, depth: number) => {
      const prefix = path.slice(0, depth + 1);
      const id = treeNodeId(prefix);
      if (!nodes.has(id)) nodes.set(id, { id, topic, depth, parents: depth === 0 ? [] : [treeNodeId(path.slice(0, depth))], topic_hash: topicHash(topic), path: prefix });
    });
  });
  if (nodes.size === 0) throw bad('body', 'no paths in the tree file');
  return [...nodes.values()];
}

/** Reads DeepFabric graph JSON (`nodes` keyed by integer id, `root_id`, optional metadata). */
export function fromGraphJson(value: unknown): { nodes: TopicNode[]; metadata?: Record<string, unknown> } {
  const g = value as { nodes?: Record<string, any>; root_id?: unknown; metadata?: Record<string, unknown> };
  if (!g || typeof g !== 'object' || !g.nodes || typeof g.nodes !== 'object' || Array.isArray(g.nodes)) throw bad('nodes', 'must be an object of nodes keyed by id');
  if (typeof g.root_id !== 'number' || !g.nodes[String(g.root_id)]) throw bad('root_id', 'must be the id of a node in nodes');
  const entries = Object.entries(g.nodes);
  const idOf = new Map<number, string>();
  for (const [key, n] of entries) {
    if (!n || typeof n !== 'object' || typeof n.topic !== 'string' || !n.topic.trim()) throw bad(`nodes.${key}.topic`, 'must be a non-empty string');
    if (typeof n.id !== 'number') throw bad(`nodes.${key}.id`, 'must be an integer');
    idOf.set(n.id, typeof n.metadata?.uuid === 'string' ? n.metadata.uuid : `n${n.id}`);
  }
  const parentsOf = new Map<number, number[]>();
  for (const [key, n] of entries) {
    for (const c of n.children ?? []) {
      if (!idOf.has(c)) throw bad(`nodes.${key}.children`, `names node ${c}, which is not in nodes`);
      parentsOf.set(c, [...(parentsOf.get(c) ?? []), n.id]);
    }
  }
  // Depth is the shortest distance from the root, found breadth first.
  const depth = new Map<number, number>([[g.root_id, 0]]);
  for (const queue = [g.root_id as number]; queue.length; ) {
    const id = queue.shift()!;
    for (const c of g.nodes[String(id)].children ?? []) if (!depth.has(c)) depth.set(c, depth.get(id)! + 1), queue.push(c);
  }
  const nodes = entries.map(([, n]) => ({
    id: idOf.get(n.id)!,
    topic: n.topic as string,
    depth: depth.get(n.id) ?? -1,
    parents: n.id === g.root_id ? [] : (parentsOf.get(n.id) ?? []).map((p) => idOf.get(p)!),
    topic_hash: typeof n.metadata?.topic_hash === 'string' ? n.metadata.topic_hash : topicHash(n.topic),
  }));
  const unreachable = nodes.find((n) => n.depth < 0);
  if (unreachable) throw bad('nodes', `node "${unreachable.topic}" cannot be reached from the root`);
  return { nodes: [nodes.find((n) => n.parents.length === 0)!, ...nodes.filter((n) => n.parents.length > 0)], metadata: g.metadata };
}

/**
 * The unique topics samples cycle over: a tree's root → leaf paths; for a graph every non-root
 * node (as DeepFabric v4 does), each with its shortest root → node path.
 */
export function uniqueTopics(s: Structure, mode: string): string[][] {
  if (mode !== 'graph') return s.paths;
  const byId = new Map(s.nodes.map((n) => [n.id, n]));
  const pathOf = new Map<string, string[]>();
  if (!s.root) return [];
  pathOf.set(s.root.id, [s.root.topic]);
  for (const queue = [s.root.id]; queue.length; ) {
    const id = queue.shift()!;
    for (const e of s.edges) {
      if (e.from !== id || pathOf.has(e.to)) continue;
      pathOf.set(e.to, [...pathOf.get(id)!, byId.get(e.to)!.topic]);
      queue.push(e.to);
    }
  }
  return s.nodes.filter((n) => n !== s.root && pathOf.has(n.id)).map((n) => pathOf.get(n.id)!);
}
