import { Type, type Static } from '@sinclair/typebox';
import { hasUnfinishedTasks } from '../../db/run-claims.repository.js';
import { claimRunStep } from '../../db/run-claims.repository.js';
import { findRunById } from '../../db/runs.repository.js';
import { EmbeddingMethodSchema, type EmbeddingMethod } from '../embeddings/embedding-method.js';
import { EMBED_TASK_KIND, loadVectors, planEmbedTasks } from '../embeddings/embeddings.service.js';
import type { HandlerDeps } from '../jobs/job-deps.js';
import { defineTask, type TypedTask } from '../jobs/task-kind.js';
import { nearDuplicates } from '../vectors/index.js';
import { JudgeSettings, passTasks, survivorTasks } from './curate-batches.js';
import { anyRating } from '../records/rating.js';
import { Rec, type StoredRecords } from './curate-records.js';

const STAGE_KIND = 'curate.stage';
const FINISH_KIND = 'curate.semantic';

/** curate.semantic: the semantic dedup decision, once every record is staged and embedded. */
export const SemanticPayload = Type.Object({
  dataset_id: Type.String(),
  rejected_dataset_id: Type.String(),
  /** The survivors of exact/near dedup, staged here so they can be embedded (and stay as they were planned). */
  input_dataset_id: Type.String(),
  /** Cosine similarity above which a record duplicates a kept one. */
  threshold: Type.Number(),
  method: EmbeddingMethodSchema,
  /** How the survivors are judged; absent = `judge: false` (kept as they are). */
  judge: Type.Optional(JudgeSettings),
  /** Set on the checks embed tasks queue: the embeddings were planned, what is left is the decision. */
  embedded: Type.Optional(Type.Boolean()),
});
type SemanticPayload = Static<typeof SemanticPayload>;

/** curate.stage: up to 500 survivors of exact/near dedup, written to the semantic input dataset. */
export const StagePayload = Type.Object({
  dataset_id: Type.String(),
  records: Type.Array(Rec),
  finish: Type.Omit(SemanticPayload, ['dataset_id']),
});

/** What a semantic run writes into its output once decided; also how a late check knows it is done. */
export const SEMANTIC_OUTPUT = 'semantic_dedup';

/**
 * The order SemDeDup visits rows in: better-rated first, unrated last, ties in canonical order (the
 * row index, as loadVectors returns rows), so the input order never decides which record is kept.
 */
export function betterFirst(ratings: Array<number | undefined>): Int32Array {
  const order = Int32Array.from(ratings.keys());
  const score = (i: number) => ratings[i] ?? -Infinity;
  return order.sort((a, b) => score(b) - score(a) || a - b);
}

/** The method as a report shows it (the storage key left out). */
export function describeMethod(method: EmbeddingMethod): Record<string, unknown> {
  if (method.kind === 'lexical') return { kind: 'lexical', method: method.method, dims: method.dims, reason: method.reason };
  return { kind: 'model', provider: method.provider, model: method.model, ...(method.dimensions !== undefined ? { dimensions: method.dimensions } : {}) };
}

/**
 * Stages survivors for embedding. Each stage task queues a check of the finisher keyed by its own
 * key (a redo adds nothing); the check that runs after the last stage commit plans the embeddings.
 */
export const curateStageTask: TypedTask<typeof StagePayload> = defineTask(STAGE_KIND, StagePayload, () => async ({ task, payload: p }) => ({
  datasetId: p.dataset_id,
  records: p.records.map((r) => ({ ...r, datasetId: p.finish.input_dataset_id })),
  spawn: [curateSemanticTask.plan(`${FINISH_KIND}/${task.key}`, { ...p.finish, dataset_id: p.dataset_id })],
}));

/**
 * SemDeDup over the staged survivors: each record, better-rated first, is dropped when its cosine
 * similarity to a record already kept is above the threshold (`duplicate_of` names that record).
 * The rest are judged (or kept) in batches planned exactly as the planner plans them, in canonical
 * order, so the same records in any input order give the same batches and the same result.
 */
async function decide(deps: Pick<HandlerDeps, 'database'>, owner: string, p: SemanticPayload, signal: AbortSignal) {
  const table = await loadVectors(deps, owner, p.input_dataset_id, p.method, { signal, pick: anyRating });
  const order = betterFirst(table.rows.map((r) => r.picked));
  const dups = new Map((await nearDuplicates(table.vectors, p.threshold, order, { signal })).map((d) => [d.row, d]));
  // Ids, not records: each spawned task reads its own batch from the staged copy when it runs.
  const from = p.input_dataset_id;
  const rejected: Required<StoredRecords> = { dataset_id: from, ids: [], rejections: [] };
  const survivors: StoredRecords = { dataset_id: from, ids: [] };
  table.rows.forEach((row, i) => {
    const d = dups.get(i);
    if (!d) survivors.ids.push(row.id);
    else {
      rejected.ids.push(row.id);
      rejected.rejections.push({ reason: 'semantic_duplicate', duplicate_of: table.rows[d.of].key, similarity: Math.round(d.similarity * 1000) / 1000 });
    }
  });
  const datasets = { rejected: p.rejected_dataset_id, run: p.dataset_id };
  const tasks = [...passTasks('sem', rejected, p.rejected_dataset_id, p.dataset_id), ...(await survivorTasks(survivors, p.judge, datasets))];
  const summary = { threshold: p.threshold, compared: table.rows.length, duplicates: rejected.ids.length, to_judge: p.judge ? survivors.ids.length : 0, embedding: describeMethod(table.method) };
  return { tasks, summary };
}

const decided = (output: unknown) => typeof output === 'object' && output !== null && SEMANTIC_OUTPUT in output;

/**
 * The semantic dedup finisher. Every stage task queues one check, and so does every embed task
 * (`embedded`); a check that finds those tasks unfinished does nothing. The first stage check to
 * find every record staged claims the planning (`output.semantic_embeds_planned_by`) and plans the embed tasks;
 * with none to plan (the lexical fallback) it decides at once. The first embed check to find every
 * embedding stored claims the decision (`output.semantic_decided_by`; its own retry keeps the claim)
 * and decides: writes the duplicates to the rejected set and plans the judge tasks. A check after the
 * decision finds it in the run's output and stops, one that finds the claim taken stops too.
 */
export const curateSemanticTask: TypedTask<typeof SemanticPayload> = defineTask(FINISH_KIND, SemanticPayload, (deps) => async ({ task, signal, payload: p }) => {
  const none = { datasetId: p.dataset_id, records: [] };
  const run = await findRunById(deps.database.db, task.run_id);
  if (!run || decided(run.output)) return none;
  if (await hasUnfinishedTasks(deps.database.db, task.run_id, p.embedded ? [STAGE_KIND, EMBED_TASK_KIND] : [STAGE_KIND])) return none;
  if (!p.embedded) {
    // One stage check plans the embeddings (each would read every staged record's id to plan the same tasks).
    if (!(await claimRunStep(deps.database.db, task.run_id, 'semantic_embeds_planned_by', task.key))) return none;
    const embed = await planEmbedTasks(deps, run.owner, [p.input_dataset_id], p.method, { kind: FINISH_KIND, payload: { ...p, embedded: true } });
    if (embed.length > 0) return { ...none, spawn: embed };
  }
  // One check decides: the last embed tasks often commit together, and each of their checks would
  // otherwise load every vector and run SemDeDup at once (10,000 records: 15-41 s of service CPU per run, 5 s with one).
  if (!(await claimRunStep(deps.database.db, task.run_id, 'semantic_decided_by', task.key))) return none;
  const { tasks, summary } = await decide(deps, run.owner, p, signal);
  return { ...none, spawn: tasks, output: { [SEMANTIC_OUTPUT]: summary } };
});
