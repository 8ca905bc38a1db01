import { findRun } from '../../db/runs.repository.js';
import { findTopics, insertImportedTopics, listTopics, topicNodes, type TopicsRow } from '../../db/topics.repository.js';
import { AppError, notFound, type ErrorDetail } from '../../src/errors.js';
import { hashOf, newId } from '../../src/ids.js';
import type { GenerateDeps } from '../generate/generate.service.js';
import { startRun } from '../runs/runs.service.js';
import { fromGraphJson, fromTreeJsonl, structureOf, toGraphJson, toTreeJsonl, topicHash, treeNodeId, type TopicNode } from './topic-structure.js';
import { TOPIC_LIMITS, type TopicsSpec } from './topics.spec.js';
import type { ExpandPayload } from './topics.task.js';

/** Queues a topics run: one expansion of the root, which queues the rest as nodes appear. */
export async function startTopics(
  deps: Pick<GenerateDeps, 'database' | 'hub' | 'providers'>,
  input: { owner: string; spec: TopicsSpec; idempotencyKey?: string; parent?: { runId: string; stage: number } },
) {
  const { spec } = input;
  const mode = spec.mode ?? 'tree';
  const degree = spec.degree ?? 3;
  const depth = spec.depth ?? 2;
  const details: ErrorDetail[] = [];
  if (degree > TOPIC_LIMITS[mode].degree) details.push({ field: 'degree', message: `at most ${TOPIC_LIMITS[mode].degree} for a ${mode}` });
  if (depth > TOPIC_LIMITS[mode].depth) details.push({ field: 'depth', message: `at most ${TOPIC_LIMITS[mode].depth} for a ${mode}` });
  if (spec.prompt_style !== undefined && mode !== 'graph') details.push({ field: 'prompt_style', message: 'only applies to mode "graph"' });
  const provider = deps.providers.get(spec.llm?.provider);
  if (!provider) details.push({ field: 'llm.provider', message: `unknown provider "${spec.llm?.provider}"` });
  if (details.length) throw new AppError('validation_failed', details.map((d) => `${d.field}: ${d.message}`).join('; '), details);

  const topicsId = newId('tp');
  const datasetId = newId('ds');
  const rootId = mode === 'tree' ? treeNodeId([spec.prompt]) : topicHash(`root/${spec.prompt}`).slice(0, 16);
  const root: TopicNode = { id: rootId, topic: spec.prompt, depth: 0, parents: [], topic_hash: topicHash(spec.prompt), ...(mode === 'tree' ? { path: [spec.prompt] } : {}) };
  const payload: Omit<ExpandPayload, 'dataset_id'> & { dataset_id: string } = {
    dataset_id: datasetId, mode, prompt_style: spec.prompt_style ?? 'default', node: root, trail: [spec.prompt], degree, depth,
    llm: spec.llm ?? {}, system_prompt: spec.system_prompt, max_attempts: spec.max_attempts,
  };
  const meta = {
    prompt: spec.prompt, degree, depth, prompt_style: mode === 'graph' ? (spec.prompt_style ?? 'default') : undefined,
    provider: provider!.name, model: spec.llm?.model ?? provider!.defaultModel, temperature: spec.llm?.temperature ?? null, created_at: new Date().toISOString(),
  };
  return startRun(deps, {
    owner: input.owner,
    kind: 'topics',
    spec: { mode, degree, depth, ...spec },
    requestHash: hashOf(spec),
    idempotencyKey: input.idempotencyKey,
    parent: input.parent,
    tasks: [{ key: `expand/${rootId}`, kind: 'topics.expand', maxAttempts: spec.max_attempts, payload }],
    dataset: { id: datasetId, name: `topics: ${spec.prompt.slice(0, 80)}`, meta: { kind: 'topics' } },
    topics: { id: topicsId, mode, meta },
    output: { topics_id: topicsId },
    report: { expected_paths: mode === 'tree' ? degree ** depth : undefined },
  });
}

export function topicsSummary(row: TopicsRow) {
  const meta = row.meta as Record<string, unknown> & { prompt: string };
  return { id: row.id, mode: row.mode as 'tree' | 'graph', ...meta, prompt: meta.prompt, run_id: row.runId ?? undefined, dataset_id: row.datasetId, created_at: row.createdAt.toISOString(), links: { self: `/v1/topics/${row.id}` } };
}

export async function getTopics(deps: Pick<GenerateDeps, 'database'>, owner: string, id: string) {
  const row = await findTopics(deps.database.db, id, owner);
  if (!row) throw notFound('topics', id);
  const structure = structureOf((await topicNodes(deps.database.db, row.datasetId)) as unknown as TopicNode[]);
  const run = row.runId ? await findRun(deps.database.db, row.runId, owner) : undefined;
  return { row, structure, status: run?.status ?? 'imported' };
}

export async function topicsView(deps: Pick<GenerateDeps, 'database'>, owner: string, id: string, format: 'json' | 'jsonl' | 'graph') {
  const { row, structure, status } = await getTopics(deps, owner, id);
  if (format === 'jsonl') return { contentType: 'application/x-ndjson; charset=utf-8', body: toTreeJsonl(structure) };
  if (format === 'graph') return { contentType: 'application/json; charset=utf-8', body: JSON.stringify(toGraphJson(structure, row.meta as never), null, 2) };
  return {
    contentType: 'application/json; charset=utf-8',
    body: JSON.stringify({
      topics: {
        ...topicsSummary(row),
        status,
        node_count: structure.nodes.length,
        path_count: structure.paths.length,
        nodes: structure.nodes.map((n) => ({ id: n.id, topic: n.topic, depth: n.depth, parents: n.parents, topic_hash: n.topic_hash })),
        edges: structure.edges,
        paths: structure.paths,
      },
    }),
  };
}

export async function listTopicsViews(deps: Pick<GenerateDeps, 'database'>, owner: string, query: { limit?: number; before?: string }) {
  const limit = query.limit ?? 50;
  const rows = await listTopics(deps.database.db, owner, { limit: limit + 1, before: query.before });
  const page = rows.slice(0, limit);
  return { topics: page.map(topicsSummary), next_before: rows.length > limit ? page[page.length - 1].id : null };
}

/** Imports DeepFabric's tree JSONL or graph JSON, so an expensive structure is built once and reused. */
export async function importTopics(deps: Pick<GenerateDeps, 'database'>, owner: string, body: unknown, contentType: string) {
  const isText = typeof body === 'string';
  const { nodes, metadata, mode } = isText
    ? { nodes: fromTreeJsonl(body), metadata: undefined, mode: 'tree' }
    : { ...fromGraphJson(body), mode: 'graph' };
  const root = nodes.find((n) => n.parents.length === 0)!;
  const id = newId('tp');
  const row = await insertImportedTopics(deps.database.db, {
    id,
    owner,
    mode,
    datasetId: newId('ds'),
    meta: { prompt: root.topic, source: isText ? 'deepfabric-tree-jsonl' : 'deepfabric-graph-json', content_type: contentType, ...(metadata ?? {}), imported_at: new Date().toISOString() },
    nodes: nodes.map((n) => ({ id: n.id, data: n })),
  });
  return topicsSummary(row);
}
