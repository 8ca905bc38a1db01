import { Type, type TSchema } from '@sinclair/typebox';
import type { Database } from '../../db/client.js';
import { topicNodes } from '../../db/topics.repository.js';
import { pacer } from '../../src/pacer.js';
import { render, type PromptTemplate } from '../../src/prompts.js';
import type { TaskHandler } from '../../src/queue/task-handler.js';
import type { LlmSettings } from '../generate/generate.spec.js';
import { requirePrompt } from '../generate/qa.task.js';
import { graphNodeId, topicHash, treeNodeId, type TopicNode } from './topic-structure.js';

export interface ExpandPayload {
  dataset_id: string;
  mode: 'tree' | 'graph';
  prompt_style: 'default' | 'isolated' | 'anchored';
  node: TopicNode;
  /** The root → node topics (graphs keep it for anchored prompts). */
  trail: string[];
  degree: number;
  depth: number;
  llm: LlmSettings;
  system_prompt?: string;
  max_attempts?: number;
}

const RELATED = 20;
const words = (s: string) => new Set(s.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []);
const jaccard = (a: Set<string>, b: Set<string>) => {
  let shared = 0;
  for (const w of a) if (b.has(w)) shared++;
  return shared / (a.size + b.size - shared || 1);
};

const cache = new Map<string, TSchema>();
const schemaFor = (degree: number, links: boolean) => {
  const key = `${degree}:${links}`;
  if (!cache.has(key)) {
    const item = links ? Type.Object({ topic: Type.String({ minLength: 1 }), connections: Type.Array(Type.String()) }) : Type.String({ minLength: 1 });
    // At least `degree`: extra subtopics are cut to `degree`, too few are sent back.
    cache.set(key, Type.Object({ subtopics: Type.Array(item, { minItems: degree }) }));
  }
  return cache.get(key) as ReturnType<typeof Type.Object<{ subtopics: ReturnType<typeof Type.Array<TSchema>> }>>;
};

/**
 * Expands one node: asks for `degree` subtopics (truncating extras), writes them as node records,
 * and queues their expansion until `depth`. In a graph (default style) the teacher sees the existing
 * nodes most related to this one, by lexical similarity, and may link new nodes to them — so links
 * stay informed at any graph size instead of only while the whole graph fits in the prompt.
 */
export function topicsExpandHandler(prompts: Map<string, PromptTemplate>, database: Database): TaskHandler {
  const prompt = requirePrompt(prompts, 'topic-expansion');
  return async ({ task, llm, signal, usage }) => {
    const p = task.payload as ExpandPayload;
    const links = p.mode === 'graph' && p.prompt_style === 'default';
    let context = '';
    let known = new Set<string>();
    if (links) {
      const me = words(p.node.topic);
      const existing = (await topicNodes(database.db, p.dataset_id)) as unknown as TopicNode[];
      // The best RELATED by score, kept in a short sorted list (a graph may hold 100,000 nodes), paced.
      const pace = pacer();
      const best: Array<{ n: TopicNode; score: number }> = [];
      for (const n of existing) {
        if (n.id === p.node.id) continue;
        const score = jaccard(me, words(n.topic));
        if (best.length === RELATED && score <= best[RELATED - 1].score) continue;
        // After equal scores: the same order a stable sort by score gives.
        const at = best.findIndex((b) => b.score < score);
        best.splice(at < 0 ? best.length : at, 0, { n, score });
        if (best.length > RELATED) best.pop();
        await pace();
      }
      const related = best.map((r) => r.n);
      known = new Set(related.map((n) => n.id));
      if (related.length) context = `\nExisting topics most related to this one (id, then topic):\n${related.map((n) => `[${n.id}]\n${n.topic}`).join('\n')}\n`;
    } else if (p.mode === 'graph' && p.prompt_style === 'anchored') {
      context = `\nStay within the root topic "${p.trail[0]}"; every subtopic must be clearly part of the path above.\n`;
    }
    const shape = links
      ? 'Return JSON: {"subtopics": [{"topic": "...", "connections": ["id of an existing topic it is also about", ...]}]}; connections may be empty.'
      : 'Return JSON: {"subtopics": ["...", "..."]}.';
    const { value } = await llm.structured({
      llm: p.llm, system: p.system_prompt ?? prompt.system, schemaName: 'subtopics', schema: schemaFor(p.degree, links), signal, usage,
      prompt: render(prompt.user, { path: p.trail.join(' → '), topic: p.node.topic, degree: p.degree, context, shape }),
    });
    const subtopics = (value.subtopics as Array<string | { topic: string; connections: string[] }>).slice(0, p.degree);
    const children: TopicNode[] = [];
    const ids = new Set<string>();
    subtopics.forEach((s, i) => {
      const topic = (typeof s === 'string' ? s : s.topic).trim();
      let id = p.mode === 'tree' ? treeNodeId([...p.trail, topic]) : graphNodeId(p.node.id, i);
      // Two siblings with the same text stay two nodes.
      if (ids.has(id)) id = treeNodeId([...p.trail, `${topic}#${i}`]);
      ids.add(id);
      const connections = typeof s === 'string' ? [] : [...new Set(s.connections.map((c) => c.trim().replace(/^\[|\]$/g, '')))].filter((c) => known.has(c));
      children.push({
        id,
        topic,
        depth: p.node.depth + 1,
        parents: [p.node.id, ...connections],
        topic_hash: topicHash(topic),
        ...(p.mode === 'tree' ? { path: [...p.trail, topic] } : {}),
      });
    });
    const nodes = p.node.depth === 0 ? [p.node, ...children] : children;
    return {
      datasetId: p.dataset_id,
      records: nodes.map((n) => ({ key: n.id, data: n })),
      spawn:
        p.node.depth + 1 < p.depth
          ? children.map((c) => ({ key: `expand/${c.id}`, kind: 'topics.expand', maxAttempts: p.max_attempts, payload: { ...p, node: c, trail: [...p.trail, c.topic] } }))
          : [],
    };
  };
}
