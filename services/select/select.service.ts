import type { NewTask } from '../../db/runs.repository.js';
import { AppError, type ErrorDetail } from '../../src/errors.js';
import { hashOf, newId } from '../../src/ids.js';
import { nextTurn, pacer } from '../../src/pacer.js';
import { chooseEmbedding, planEmbedTasks } from '../embeddings/embeddings.service.js';
import type { JobDeps, PlanInput } from '../jobs/job-deps.js';
import { checkPlanBytes, checkTaskCount, sharedBytes } from '../limits.js';
import type { RunPlan } from '../runs/runs.service.js';
import { finishTask } from './select-finish.task.js';
import { selectInput, type InputEntry } from './select-input.js';
import { selectScoreTask } from './select-score.task.js';
import { normaliseWeights } from './select-scores.js';
import { FINISH_KIND, type FinishPayload, type ScorePayload, type SelectSettings } from './select.payloads.js';
import type { SelectSpec } from './select.spec.js';

/** Records per copy task when inline records are not judged (they only have to be in a dataset). */
const COPY_BATCH = 500;

/** Options that mean something only to some strategies: giving one to another is a mistake worth a 400. */
const ONLY: Record<string, Array<SelectSpec['strategy']>> = {
  weights: ['deita', 'top_k'],
  judge: ['deita', 'top_k'],
  min_score: ['deita', 'top_k'],
  batch_size: ['deita', 'top_k'],
  llm: ['deita', 'top_k'],
  system_prompt: ['deita', 'top_k'],
  threshold: ['deita'],
  pick: ['coverage'],
  seed: ['coverage'],
  score_by: ['top_k'],
};

/** What is wrong with a select request's options, fields prefixed as a pipeline names them (`select.pick`). */
export function selectOptionProblems(deps: Pick<JobDeps, 'providers'>, spec: Omit<SelectSpec, 'dataset_id' | 'records'>, prefix = ''): ErrorDetail[] {
  const details: ErrorDetail[] = [];
  for (const [field, strategies] of Object.entries(ONLY)) {
    if (spec[field as keyof typeof spec] !== undefined && !strategies.includes(spec.strategy)) {
      details.push({ field: prefix + field, message: `does not apply to strategy ${spec.strategy} (only ${strategies.join(', ')})` });
    }
  }
  if (spec.judge === false) {
    for (const field of ['batch_size', 'llm', 'system_prompt'] as const) if (spec[field] !== undefined) details.push({ field: prefix + field, message: 'only applies when the teacher scores (judge is false)' });
  }
  if (spec.llm?.provider && !deps.providers.get(spec.llm.provider)) details.push({ field: `${prefix}llm.provider`, message: `unknown provider "${spec.llm.provider}"` });
  return details;
}

function checkOptions(deps: Pick<JobDeps, 'providers'>, spec: SelectSpec): void {
  const details: ErrorDetail[] = [];
  if ((spec.dataset_id === undefined) === (spec.records === undefined)) details.push({ field: spec.records ? 'records' : 'dataset_id', message: 'give exactly one of dataset_id and records' });
  details.push(...selectOptionProblems(deps, spec));
  if (details.length) throw new AppError('validation_failed', details.map((d) => `${d.field}: ${d.message}`).join('; '), details);
}

/** The score (or copy) tasks over the entries in canonical order: the same records make the same batches whatever their input order. */
async function scoreTasks(entries: InputEntry[], size: number, base: Omit<ScorePayload, 'ids' | 'records' | 'chars'>, maxAttempts?: number): Promise<NewTask[]> {
  const tasks: NewTask[] = [];
  const pace = pacer();
  for (let i = 0; i < entries.length; i += size) {
    const batch = entries.slice(i, i + size);
    const items = batch[0].record ? { records: batch.map((e) => e.record!) } : { ids: batch.map((e) => e.id!) };
    tasks.push(selectScoreTask.plan(`s${i / size}`, { ...base, ...items, chars: batch.reduce((n, e) => n + e.chars, 0) }, maxAttempts));
    const turn = pace();
    if (turn) await turn;
  }
  return tasks;
}

/**
 * Plans a select run. Phase 1: the teacher scores batches into the run's scored copy (judged), or
 * inline records are copied into a dataset of the run, while the embed tasks store every vector the
 * records lack; each task done queues the finisher (inline: first the embedding planner), which
 * selects once everything is in and spawns the writes. Coverage and the heuristic need no teacher.
 */
export async function planSelect(deps: Pick<JobDeps, 'database' | 'providers'>, input: PlanInput<SelectSpec>): Promise<RunPlan> {
  const { spec, owner } = input;
  checkOptions(deps, spec);
  const weights = normaliseWeights(spec.weights);
  const method = chooseEmbedding(deps, spec.embedding);
  await nextTurn();
  const judged = spec.strategy !== 'coverage' && spec.judge !== false;
  const copies = judged || spec.records !== undefined;
  const { name: sourceName, entries } = await selectInput(deps, owner, spec, { needsRating: spec.score_by === 'rating', judged, ordered: copies });
  const batchSize = judged ? (spec.batch_size ?? 5) : COPY_BATCH;
  if (copies) checkTaskCount(Math.ceil(entries.length / batchSize), 'batch_size', `${entries.length} records in batches of ${batchSize}: raise batch_size`);

  const datasetId = newId('ds');
  const unselectedId = newId('ds');
  const stagedId = copies ? newId('ds') : undefined;
  const settings: SelectSettings = {
    strategy: spec.strategy,
    target: spec.target,
    weights,
    threshold: spec.threshold ?? 0.9,
    pick: spec.pick ?? 'centroid',
    score_by: spec.score_by ?? 'combined',
    ...(spec.min_score !== undefined ? { min_score: spec.min_score } : {}),
    seed: spec.seed ?? 42,
  };
  const finish: FinishPayload = { dataset_id: datasetId, unselected_dataset_id: unselectedId, owner, from_dataset_id: stagedId ?? spec.dataset_id!, judged, method, settings };
  const tasks: NewTask[] = [];
  if (stagedId) {
    const then: ScorePayload['then'] = spec.records ? { kind: 'begin', payload: { dataset_id: datasetId, finish } } : { kind: 'finish', payload: finish };
    const judge = judged ? { judge: { llm: spec.llm ?? {}, ...(spec.system_prompt !== undefined ? { system_prompt: spec.system_prompt } : {}) } } : {};
    checkPlanBytes(Math.ceil(entries.length / batchSize) * sharedBytes({ finish, judge }), 'batch_size', 'every batch carries the run settings and the system_prompt: raise batch_size or shorten it');
    tasks.push(...(await scoreTasks(entries, batchSize, { dataset_id: datasetId, staged_dataset_id: stagedId, ...(spec.dataset_id ? { source_dataset_id: spec.dataset_id } : {}), ...judge, then }, spec.max_attempts)));
  }
  // Dataset input: its vectors are computed alongside the scoring (they are stored by text, so the
  // finisher finds them for the scored copy too). Inline input: once the copy exists (select.begin).
  if (spec.dataset_id) tasks.push(...(await planEmbedTasks(deps, owner, [spec.dataset_id], method, { kind: FINISH_KIND, payload: finish })));
  if (tasks.length === 0) tasks.push(finishTask.plan(`${FINISH_KIND}/start`, finish));

  const name = spec.dataset_name ?? `selected ${sourceName ?? 'records'}`;
  const stored = spec.records ? { ...spec, records: undefined, record_count: spec.records.length } : spec;
  const staged = stagedId
    ? [{ id: stagedId, name: `${name} (${judged ? 'scored' : 'input'})`, meta: { kind: 'staging', source_run_kind: 'select' }, output: judged ? 'scored_dataset_id' : 'input_dataset_id' }]
    : [];
  return {
    kind: 'select',
    spec: stored,
    requestHash: hashOf(spec),
    tasks,
    dataset: { id: datasetId, name, meta: { kind: 'selected', source_run_kind: 'select', strategy: spec.strategy, ...(spec.dataset_id ? { source_dataset_id: spec.dataset_id } : {}) } },
    extraDatasets: [{ id: unselectedId, name: `${name} (unselected)`, meta: { kind: 'unselected', source_run_kind: 'select' }, output: 'unselected_dataset_id' }, ...staged],
    report: {
      records_in: entries.length,
      strategy: spec.strategy,
      target: spec.target,
      scoring: spec.strategy === 'coverage' ? 'none' : judged ? 'teacher' : 'heuristic',
      ...(spec.strategy === 'coverage' ? {} : { weights }),
      embedding: method.kind === 'model' ? { kind: 'model', provider: method.provider, model: method.model } : { kind: 'lexical', method: method.method, reason: method.reason },
    },
  };
}
