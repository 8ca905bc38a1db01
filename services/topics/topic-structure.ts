import { createHash } from 'node:crypto';
import { pacer } from '../../src/pacer.js';

/** A node as stored (one record per node, key = id). */
export interface TopicNode {
  id: string;
  topic: string;
  depth: number;
  parents: string[];
  topic_hash: string;
  /** Built trees: the root → node path. */
  path?: string[];
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
export const topicHash = (topic: string) => sha256(topic);
/** Tree ids hash the path (DeepFabric's rule), so the same path is the same node in any run. */
export const treeNodeId = (path: string[]) => sha256(JSON.stringify(path)).slice(0, 16);
/** Graph ids derive from the parent and position, so a redone expansion writes the same nodes. */
export const graphNodeId = (parentId: string, index: number) => sha256(`${parentId}/${index}`).slice(0, 16);

/** `treeNodeId` of every prefix of `path`, hashing each topic once (the prefixes share their hash state). */
export function treeNodeIds(path: string[]): string[] {
  const hash = createHash('sha256').update('[');
  return path.map((topic, i) => hash.update(`${i ? ',' : ''}${JSON.stringify(topic)}`).copy().update(']').digest('hex').slice(0, 16));
}

export interface Structure {
  root: TopicNode | undefined;
  nodes: TopicNode[];
  byId: Map<string, TopicNode>;
  edges: Array<{ from: string; to: string }>;
  /** Every edge, by parent, in node order. */
  children: Map<string, string[]>;
  /** The edges paths follow: all but those that would close a cycle (imports refuse cycles; older data may hold one). */
  forward: Map<string, string[]>;
}

/** Indexes the nodes; linear in nodes and edges. */
export async function structureOf(nodes: TopicNode[], pace = pacer()): Promise<Structure> {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const children = new Map<string, string[]>();
  const edges: Structure['edges'] = [];
  for (const n of nodes) {
    for (const p of n.parents) {
      if (!byId.has(p)) continue;
      edges.push({ from: p, to: n.id });
      const list = children.get(p);
      if (list) list.push(n.id);
      else children.set(p, [n.id]);
    }
    await pace();
  }
  const root = nodes.find((n) => n.parents.length === 0);
  const forward = new Map<string, string[]>();
  if (root) {
    // Depth-first from the root; an edge to a node still on the stack closes a cycle and is dropped.
    const state = new Map<string, 'open' | 'done'>([[root.id, 'open']]);
    const stack: Array<{ id: string; next: number; kept: string[] }> = [{ id: root.id, next: 0, kept: [] }];
    while (stack.length) {
      const top = stack[stack.length - 1];
      const list = children.get(top.id) ?? [];
      if (top.next === list.length) {
        forward.set(top.id, top.kept);
        state.set(top.id, 'done');
        stack.pop();
        continue;
      }
      const c = list[top.next++];
      if (state.get(c) === 'open') continue;
      top.kept.push(c);
      if (!state.has(c)) {
        state.set(c, 'open');
        stack.push({ id: c, next: 0, kept: [] });
      }
      await pace();
    }
  }
  return { root, nodes, byId, edges, children, forward };
}

/**
 * Root → leaf paths, depth first, up to `limit` paths and `maxChars` topic characters in all: a
 * graph may have exponentially many (24 layers of two linked to both below: 2^24), so listings
 * are capped and the total comes from `countPaths`. Each path listed costs its length.
 */
export async function listPaths(s: Structure, options: { limit: number; maxChars: number }, pace = pacer()): Promise<{ paths: string[][]; truncated: boolean }> {
  const paths: string[][] = [];
  if (!s.root || options.limit <= 0) return { paths, truncated: s.root !== undefined && options.limit <= 0 };
  let chars = 0;
  const trail: string[] = [s.root.topic];
  const stack: Array<{ id: string; next: number }> = [{ id: s.root.id, next: 0 }];
  while (stack.length) {
    const top = stack[stack.length - 1];
    const list = s.forward.get(top.id) ?? [];
    if (list.length === 0) {
      const length = trail.reduce((sum, t) => sum + t.length, 0);
      if (paths.length === options.limit || chars + length > options.maxChars) return { paths, truncated: true };
      paths.push([...trail]);
      chars += length;
    }
    if (top.next === list.length) {
      stack.pop();
      trail.pop();
      continue;
    }
    const c = list[top.next++];
    stack.push({ id: c, next: 0 });
    trail.push(s.byId.get(c)!.topic);
    await pace();
  }
  return { paths, truncated: false };
}

/** How many root → leaf paths there are, counted per node (linear), saturating at 2^53 − 1. */
export async function countPaths(s: Structure, pace = pacer()): Promise<number> {
  if (!s.root) return 0;
  const count = new Map<string, number>();
  const stack: Array<{ id: string; next: number }> = [{ id: s.root.id, next: 0 }];
  while (stack.length) {
    const top = stack[stack.length - 1];
    const list = s.forward.get(top.id) ?? [];
    if (top.next < list.length) {
      const c = list[top.next++];
      if (!count.has(c)) stack.push({ id: c, next: 0 });
      continue;
    }
    const sum = list.length === 0 ? 1 : list.reduce((acc, c) => acc + count.get(c)!, 0);
    count.set(top.id, Math.min(sum, Number.MAX_SAFE_INTEGER));
    stack.pop();
    await pace();
  }
  return count.get(s.root.id)!;
}

/**
 * The unique topics samples cycle over, one path per topic, found breadth first (each node's
 * shortest root → node path), so the work is linear in nodes × depth however many paths the graph
 * has: a tree's leaves; for a graph every non-root node (as DeepFabric v4 does).
 */
export async function uniqueTopics(s: Structure, mode: string, pace = pacer()): Promise<string[][]> {
  if (!s.root) return [];
  const via = new Map<string, string | null>([[s.root.id, null]]);
  const order: string[] = [s.root.id];
  for (let i = 0; i < order.length; i++) {
    for (const c of s.children.get(order[i]) ?? []) {
      if (via.has(c)) continue;
      via.set(c, order[i]);
      order.push(c);
    }
    await pace();
  }
  const pathTo = (id: string) => {
    const path: string[] = [];
    for (let at: string | null | undefined = id; at != null; at = via.get(at)) path.push(s.byId.get(at)!.topic);
    return path.reverse();
  };
  const picked = mode === 'graph' ? s.nodes.filter((n) => n !== s.root && via.has(n.id)).map((n) => n.id) : await leavesDepthFirst(s, pace);
  const paths: string[][] = [];
  for (const id of picked) {
    paths.push(pathTo(id));
    await pace();
  }
  return paths;
}

/** A tree's leaves in the order `listPaths` lists them; each node visited once. */
async function leavesDepthFirst(s: Structure, pace: () => Promise<void> | undefined): Promise<string[]> {
  const leaves: string[] = [];
  const seen = new Set<string>();
  const stack = [s.root!.id];
  while (stack.length) {
    const id = stack.pop()!;
    if (seen.has(id)) continue;
    seen.add(id);
    const list = s.forward.get(id) ?? [];
    if (list.length === 0) leaves.push(id);
    for (let i = list.length - 1; i >= 0; i--) stack.push(list[i]);
    await pace();
  }
  return leaves;
}

/** DeepFabric's tree file: one `{"path": [...]}` per root → leaf path. */
export async function toTreeJsonl(paths: string[][], pace = pacer()): Promise<string> {
  const parts: string[] = [];
  for (let i = 0; i < paths.length; i += 1000) {
    parts.push(paths.slice(i, i + 1000).map((path) => `${JSON.stringify({ path })}\n`).join(''));
    await pace();
  }
  return parts.join('');
}

/** DeepFabric's graph file: integer ids in creation order, root 0, uuid and topic_hash in metadata. */
export async function toGraphJson(s: Structure, meta: { provider?: string; model?: string; temperature?: number; created_at: string }, pace = pacer()) {
  const order = s.root ? [s.root, ...s.nodes.filter((n) => n !== s.root)] : s.nodes;
  const num = new Map(order.map((n, i) => [n.id, i]));
  const nodes: Record<string, unknown> = {};
  for (const n of order) {
    const i = num.get(n.id)!;
    nodes[String(i)] = {
      id: i,
      topic: n.topic,
      children: (s.children.get(n.id) ?? []).map((c) => num.get(c)),
      parents: n.parents.filter((p) => num.has(p)).map((p) => num.get(p)),
      metadata: { uuid: n.id, topic_hash: n.topic_hash },
    };
    await pace();
  }
  return { nodes, root_id: 0, metadata: { provider: meta.provider ?? 'unknown', model: meta.model ?? 'unknown', temperature: meta.temperature ?? 0, created_at: meta.created_at } };
}
