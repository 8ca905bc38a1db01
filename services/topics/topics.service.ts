import { findRun } from '../../db/runs.repository.js';
import { findTopics, insertImportedTopics, listTopics, topicNodes, type TopicsRow } from '../../db/topics.repository.js';
import { AppError, notFound, type ErrorDetail } from '../../src/errors.js';
import { hashOf, newId } from '../../src/ids.js';
import type { JobDeps, PlanInput } from '../jobs/job-deps.js';
import type { RunPlan } from '../runs/runs.service.js';
import { nextTurn, pacer } from '../../src/pacer.js';
import { LIMITS } from '../limits.js';
import { fromGraphJson, fromTreeJsonl } from './topic-import.js';
import { countPaths, listPaths, structureOf, toGraphJson, toTreeJsonl, topicHash, treeNodeId, type TopicNode } from './topic-structure.js';
import { TOPIC_LIMITS, type TopicsSpec } from './topics.spec.js';
import { expandTask } from './topics.task.js';

/** Plans a topics run: one expansion of the root, which queues the rest as nodes appear. */
export async function planTopics(
  deps: Pick<JobDeps, 'providers'>,
  input: PlanInput<TopicsSpec>,
) {
  const { spec } = input;
  const mode = spec.mode ?? 'tree';
  const degree = spec.degree ?? 3;
  const depth = spec.depth ?? 2;
  const details: ErrorDetail[] = [];
  if (degree > TOPIC_LIMITS[mode].degree) details.push({ field: 'degree', message: `at most ${TOPIC_LIMITS[mode].degree} for a ${mode}` });
  if (depth > TOPIC_LIMITS[mode].depth) details.push({ field: 'depth', message: `at most ${TOPIC_LIMITS[mode].depth} for a ${mode}` });
  else if (degree ** depth > LIMITS.topicLeaves) details.push({ field: 'depth', message: leavesMessage(degree, depth) });
  if (spec.prompt_style !== undefined && mode !== 'graph') details.push({ field: 'prompt_style', message: 'only applies to mode "graph"' });
  const provider = deps.providers.get(spec.llm?.provider);
  if (!provider) details.push({ field: 'llm.provider', message: `unknown provider "${spec.llm?.provider}"` });
  if (details.length) throw new AppError('validation_failed', details.map((d) => `${d.field}: ${d.message}`).join('; '), details);

  const topicsId = newId('tp');
  const datasetId = newId('ds');
  const rootId = mode === 'tree' ? treeNodeId([spec.prompt]) : topicHash(`root/${spec.prompt}`).slice(0, 16);
  const root: TopicNode = { id: rootId, topic: spec.prompt, depth: 0, parents: [], topic_hash: topicHash(spec.prompt), ...(mode === 'tree' ? { path: [spec.prompt] } : {}) };
  const payload = {
    dataset_id: datasetId, mode, prompt_style: spec.prompt_style ?? 'default', node: root, trail: [spec.prompt], degree, depth,
    llm: spec.llm ?? {}, system_prompt: spec.system_prompt, max_attempts: spec.max_attempts,
  };
  const meta = {
    prompt: spec.prompt, degree, depth, prompt_style: mode === 'graph' ? (spec.prompt_style ?? 'default') : undefined,
    provider: provider!.name, model: spec.llm?.model ?? provider!.defaultModel, temperature: spec.llm?.temperature ?? null, created_at: new Date().toISOString(),
  };
  return {
    kind: 'topics',
    spec: { mode, degree, depth, ...spec },
    requestHash: hashOf(spec),
    tasks: [expandTask.plan(`expand/${rootId}`, payload, spec.max_attempts)],
    dataset: { id: datasetId, name: `topics: ${spec.prompt.slice(0, 80)}`, meta: { kind: 'topics' } },
    topics: { id: topicsId, mode, meta },
    output: { topics_id: topicsId },
    report: { expected_paths: mode === 'tree' ? degree ** depth : undefined },
  };
}

/** What a topics resource's meta may show; anything else stored in it (older imports spread a file's metadata in) stays hidden. */
const SHOWN = ['degree', 'depth', 'prompt_style', 'provider', 'model', 'temperature', 'source', 'content_type', 'imported_at', 'metadata'] as const;

export function topicsSummary(row: TopicsRow) {
  const meta = row.meta as Record<string, unknown> & { prompt: string };
  const shown = Object.fromEntries(SHOWN.filter((k) => meta[k] !== undefined).map((k) => [k, meta[k]]));
  return { ...shown, id: row.id, mode: row.mode as 'tree' | 'graph', prompt: meta.prompt, run_id: row.runId ?? undefined, dataset_id: row.datasetId, created_at: row.createdAt.toISOString(), links: { self: `/v1/topics/${row.id}` } };
}

export async function getTopics(deps: Pick<JobDeps, 'database'>, owner: string, id: string) {
  const row = await findTopics(deps.database.db, id, owner);
  if (!row) throw notFound('topics', id);
  const structure = await structureOf((await topicNodes(deps.database.db, row.datasetId)) as unknown as TopicNode[]);
  const run = row.runId ? await findRun(deps.database.db, row.runId, owner) : undefined;
  return { row, structure, status: run?.status ?? 'imported' };
}

/** A JSON array built a slice at a time, so a structure of 100,000 nodes does not hold the event loop. */
async function jsonArray(items: unknown[], pace: () => Promise<void> | undefined): Promise<string> {
  const parts: string[] = [];
  for (let i = 0; i < items.length; i += 1000) {
    parts.push(items.slice(i, i + 1000).map((x) => JSON.stringify(x)).join(','));
    await pace();
  }
  return `[${parts.join(',')}]`;
}

/**
 * A topics resource as JSON or a DeepFabric file. Paths are listed up to `pathsLimit` (and
 * LIMITS.pathsChars topic characters): a graph can have exponentially many, so `path_count` is
 * counted per node instead and `paths_truncated` says whether the list is complete.
 */
export async function topicsView(deps: Pick<JobDeps, 'database'>, owner: string, id: string, format: 'json' | 'jsonl' | 'graph', pathsLimit?: number) {
  const { row, structure, status } = await getTopics(deps, owner, id);
  const pace = pacer();
  const listing = () => listPaths(structure, { limit: pathsLimit ?? (format === 'jsonl' ? LIMITS.pathsMax : LIMITS.pathsDefault), maxChars: LIMITS.pathsChars }, pace);
  if (format === 'jsonl') {
    const { paths, truncated } = await listing();
    return { contentType: 'application/x-ndjson; charset=utf-8', body: await toTreeJsonl(paths, pace), headers: truncated ? { 'x-paths-truncated': 'true', 'x-path-count': String(await countPaths(structure, pace)) } : {} };
  }
  if (format === 'graph') return { contentType: 'application/json; charset=utf-8', body: JSON.stringify(await toGraphJson(structure, row.meta as never, pace), null, 2), headers: {} };
  const { paths, truncated } = await listing();
  const head = JSON.stringify({ topics: { ...topicsSummary(row), status, node_count: structure.nodes.length, path_count: await countPaths(structure, pace), paths_truncated: truncated } });
  const nodes = await jsonArray(structure.nodes.map((n) => ({ id: n.id, topic: n.topic, depth: n.depth, parents: n.parents, topic_hash: n.topic_hash })), pace);
  const body = `${head.slice(0, -2)},"nodes":${nodes},"edges":${await jsonArray(structure.edges, pace)},"paths":${await jsonArray(paths, pace)}}}`;
  return { contentType: 'application/json; charset=utf-8', body, headers: {} };
}

export async function listTopicsViews(deps: Pick<JobDeps, 'database'>, owner: string, query: { limit?: number; before?: string }) {
  const limit = query.limit ?? 50;
  const rows = await listTopics(deps.database.db, owner, { limit: limit + 1, before: query.before });
  const page = rows.slice(0, limit);
  return { topics: page.map(topicsSummary), next_before: rows.length > limit ? page[page.length - 1].id : null };
}

/** DeepFabric's graph metadata shown beside the topics, when of the expected type; the whole object stays under `metadata`. */
function liftedMetadata(metadata: Record<string, unknown> | undefined) {
  if (!metadata) return {};
  const text = (v: unknown) => (typeof v === 'string' && v.length <= 200 ? v : undefined);
  const lifted = { provider: text(metadata.provider), model: text(metadata.model), temperature: typeof metadata.temperature === 'number' ? metadata.temperature : undefined };
  return { ...Object.fromEntries(Object.entries(lifted).filter(([, v]) => v !== undefined)), metadata };
}

/** Imports DeepFabric's tree JSONL or graph JSON, so an expensive structure is built once and reused. */
export async function importTopics(deps: Pick<JobDeps, 'database'>, owner: string, body: unknown, contentType: string) {
  await nextTurn();
  const isText = typeof body === 'string';
  const { nodes, metadata, mode } = isText
    ? { nodes: await fromTreeJsonl(body), metadata: undefined, mode: 'tree' }
    : { ...(await fromGraphJson(body)), mode: 'graph' };
  const root = nodes.find((n) => n.parents.length === 0)!;
  const id = newId('tp');
  const row = await insertImportedTopics(deps.database.db, {
    id,
    owner,
    mode,
    datasetId: newId('ds'),
    // The file's own metadata never overrides what Quarry says about the resource.
    meta: { ...liftedMetadata(metadata), prompt: root.topic, source: isText ? 'deepfabric-tree-jsonl' : 'deepfabric-graph-json', content_type: contentType.slice(0, 200), imported_at: new Date().toISOString() },
    nodes: nodes.map((n) => ({ id: n.id, data: n })),
  });
  return topicsSummary(row);
}

const fmt = (n: number) => n.toLocaleString('en-US');
export const leavesMessage = (degree: number, depth: number) =>
  `degree ${degree} and depth ${depth} make ${fmt(degree ** depth)} root → leaf paths; at most ${fmt(LIMITS.topicLeaves)} (degree^depth)`;
