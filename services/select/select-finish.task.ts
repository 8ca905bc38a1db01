import { hasUnfinishedTasks } from '../../db/run-claims.repository.js';
import { claimRunStep } from '../../db/run-claims.repository.js';
import { recordsByIds } from '../../db/select.repository.js';
import type { EmbeddingMethod } from '../embeddings/embedding-method.js';
import { EMBED_TASK_KIND } from '../embeddings/embed.task.js';
import { loadVectors, planEmbedTasks } from '../embeddings/embeddings.service.js';
import { defineTask, type TypedTask } from '../jobs/task-kind.js';
import { BEGIN_KIND, BeginPayload, FINISH_KIND, FinishPayload, SCORE_KIND, WRITE_KIND, WritePayload } from './select.payloads.js';
import { multiScore, stagedScore } from './select-scores.js';
import { curationRating } from '../records/rating.js';
import { decide, type Picked } from './select-strategy.js';
import { isRecord } from '../../src/plain-object.js';

/** Records per select.write task: small commits, however many records the run selects from. */
export const WRITE_BATCH = 500;

/** How multi_score names the vectors it was computed with. */
export const embeddingLabel = (m: EmbeddingMethod) =>
  m.kind === 'model' ? `${m.provider}/${m.model}${m.dimensions ? `@${m.dimensions}` : ''}` : `lexical (${m.method}, ${m.dims} dims)`;

/** The method as a report shows it (without the storage key). */
const methodView = (m: EmbeddingMethod) => (m.kind === 'model' ? { kind: m.kind, provider: m.provider, model: m.model, dimensions: m.dimensions } : m);

/**
 * Inline records, once every one is in the run's input (or scored) copy: plans the embeddings that
 * copy lacks, each queuing the finisher when done, or the finisher itself when none is missing.
 */
export const beginTask: TypedTask<typeof BeginPayload> = defineTask(BEGIN_KIND, BeginPayload, (deps) => async ({ task, payload: p }) => {
  if (await hasUnfinishedTasks(deps.database.db, task.run_id, [SCORE_KIND])) return { datasetId: p.dataset_id, records: [] };
  const f = p.finish;
  const embeds = await planEmbedTasks(deps, f.owner, [f.from_dataset_id], f.method, { kind: FINISH_KIND, payload: f });
  return { datasetId: p.dataset_id, records: [], spawn: embeds.length > 0 ? embeds : [finishTask.plan(`${FINISH_KIND}/start`, f)] };
});

/**
 * The selection, once every embed and score task of the run is done (each queued this check; only
 * the first that finds none left claims the run's selection, `output.selected_by`, and works; the
 * others see the claim and stop). Reads vectors and scores a page at a time (never the records), computes diversity and the
 * combined score, runs the strategy and spawns the writes; the run's output gets the selection report.
 */
export const finishTask: TypedTask<typeof FinishPayload> = defineTask(FINISH_KIND, FinishPayload, (deps) => async ({ task, signal, payload: p }) => {
  if (await hasUnfinishedTasks(deps.database.db, task.run_id, [EMBED_TASK_KIND, SCORE_KIND, BEGIN_KIND])) return { datasetId: p.dataset_id, records: [] };
  // One check selects (a million vectors are not loaded twice); its own retry keeps the claim.
  if (!(await claimRunStep(deps.database.db, task.run_id, 'selected_by', task.key))) return { datasetId: p.dataset_id, records: [] };
  const s = p.settings;
  const pick = (data: Record<string, unknown>): Picked => {
    if (s.strategy === 'coverage') return {};
    const { complexity, quality } = stagedScore(data, p.judged);
    return { complexity, quality, ...(s.score_by === 'rating' ? { rating: curationRating(data) } : {}) };
  };
  const table = await loadVectors(deps, p.owner, p.from_dataset_id, p.method, { signal, pick });
  const { items, details } = await decide(table.vectors, table.rows.map((r) => r.picked), s, signal);
  const embedding = embeddingLabel(p.method);
  const k = typeof details.k === 'number' ? details.k : undefined;
  const spawn = [];
  for (let i = 0; i < items.length; i += WRITE_BATCH) {
    const batch = items.slice(i, i + WRITE_BATCH).map((item, j) => ({ id: table.rows[i + j].id, ...item }));
    spawn.push(writeTask.plan(`${WRITE_KIND}/${i / WRITE_BATCH}`, { dataset_id: p.dataset_id, unselected_dataset_id: p.unselected_dataset_id, from_dataset_id: p.from_dataset_id, judged: p.judged, settings: s, embedding, k, items: batch }));
  }
  const selected = items.filter((i) => i.s).length;
  const embeddingReport = { ...methodView(p.method), ...(p.method.kind === 'lexical' ? { note: `no embedding model: ${p.method.reason}` } : {}) };
  return {
    datasetId: p.dataset_id,
    records: [],
    spawn,
    output: { selection: { strategy: s.strategy, target: s.target, records: items.length, selected, unselected: items.length - selected, embedding: embeddingReport, ...details } },
  };
});

/** Writes decided records: the selected to the run's dataset, the rest to the unselected one, each with its scores or cluster. */
export const writeTask: TypedTask<typeof WritePayload> = defineTask(WRITE_KIND, WritePayload, ({ database }) => async ({ payload: p }) => {
  const found = new Map((await recordsByIds(database.db, p.from_dataset_id, p.items.map((i) => i.id))).map((r) => [r.id, r]));
  const s = p.settings;
  const records = p.items.flatMap((item) => {
    const r = found.get(item.id);
    if (!r || !isRecord(r.data)) return [];
    // A record selected before (from an earlier select run's output) gets this run's scores and reason, not both.
    const { selection: _earlier, ...data } = r.data;
    const added =
      s.strategy === 'coverage'
        ? { coverage: { cluster_id: item.c, k: p.k, strategy: s.pick } }
        : { multi_score: multiScore(stagedScore(data, p.judged), item.d ?? 0, s.weights, p.embedding) };
    const selection = item.s ? {} : { selection: { reason: item.r ?? 'not_selected' } };
    return [{ key: r.key, data: { ...data, ...added, ...selection }, ...(item.s ? {} : { datasetId: p.unselected_dataset_id }) }];
  });
  return { datasetId: p.dataset_id, records };
});
