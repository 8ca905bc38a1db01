import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { topicNodes } from '../../db/topics.repository.js';
import { pacer } from '../../src/pacer.js';
import { render, requirePrompt } from '../../src/prompts.js';
import { LlmSettings } from '../jobs/job-options.js';
import { defineTask, type TypedTask } from '../jobs/task-kind.js';
import { graphNodeId, topicHash, treeNodeId, type TopicNode } from './topic-structure.js';

/** topics.expand: one node to expand, and what its subtree needs to know. */
export const ExpandPayload = Type.Object({
  dataset_id: Type.String(),
  mode: Type.Union([Type.Literal('tree'), Type.Literal('graph')]),
  prompt_style: Type.Union([Type.Literal('default'), Type.Literal('isolated'), Type.Literal('anchored')]),
  node: Type.Object({
    id: Type.String(),
    topic: Type.String(),
    depth: Type.Integer({ minimum: 0 }),
    parents: Type.Array(Type.String()),
    topic_hash: Type.String(),
    path: Type.Optional(Type.Array(Type.String())),
  }),
  /** The root → node topics (graphs keep it for anchored prompts). */
  trail: Type.Array(Type.String()),
  degree: Type.Integer({ minimum: 1 }),
  depth: Type.Integer({ minimum: 1 }),
  llm: LlmSettings,
  system_prompt: Type.Optional(Type.String()),
  max_attempts: Type.Optional(Type.Integer({ minimum: 1 })),
});
export type ExpandPayload = Static<typeof ExpandPayload>;

const RELATED = 20;
const words = (s: string) => new Set(s.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []);
const jaccard = (a: Set<string>, b: Set<string>) => {
  let shared = 0;
  for (const w of a) if (b.has(w)) shared++;
  return shared / (a.size + b.size - shared || 1);
};

const cache = new Map<number, TSchema>();
/**
 * At least `degree` subtopics: extra ones are cut to `degree`, too few are sent back. With `related`
 * node ids, each subtopic may name the ones it is also about, from an enum of those ids, so even a
 * teacher that only follows the schema links to real nodes (ids outside it are dropped too, for
 * providers that ignore schemas).
 */
export const subtopicsSchema = (degree: number, related: string[]) => {
  if (related.length > 0) {
    const item = Type.Object({ topic: Type.String({ minLength: 1 }), connections: Type.Array(Type.String({ enum: related })) });
    return Type.Object({ subtopics: Type.Array(item, { minItems: degree }) });
  }
  if (!cache.has(degree)) cache.set(degree, Type.Object({ subtopics: Type.Array(Type.String({ minLength: 1 }), { minItems: degree }) }));
  return cache.get(degree) as ReturnType<typeof Type.Object<{ subtopics: ReturnType<typeof Type.Array<TSchema>> }>>;
};

/**
 * Expands one node: asks for `degree` subtopics (truncating extras), writes them as node records,
 * and queues their expansion until `depth`. In a graph (default style) the teacher sees the existing
 * nodes most related to this one, by lexical similarity, and may link new nodes to them — so links
 * stay informed at any graph size instead of only while the whole graph fits in the prompt.
 */
export const expandTask: TypedTask<typeof ExpandPayload> = defineTask('topics.expand', ExpandPayload, ({ prompts, database }) => {
  const prompt = requirePrompt(prompts, 'topic-expansion');
  return async ({ task, llm, signal, usage, payload: p }) => {
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
    const shape = known.size > 0
      ? 'Return JSON: {"subtopics": [{"topic": "...", "connections": ["id of an existing topic it is also about", ...]}]}; connections may be empty.'
      : 'Return JSON: {"subtopics": ["...", "..."]}.';
    const { value } = await llm.structured({
      llm: p.llm, system: p.system_prompt ?? prompt.system, schemaName: 'subtopics', schema: subtopicsSchema(p.degree, [...known]), signal, usage,
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
          ? children.map((c) => expandTask.plan(`expand/${c.id}`, { ...p, node: c, trail: [...p.trail, c.topic] }, p.max_attempts))
          : [],
    };
  };
});
