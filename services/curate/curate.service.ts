import type { NewTask } from '../../db/runs.repository.js';
import { AppError, type ErrorDetail } from '../../src/errors.js';
import { hashOf, newId } from '../../src/ids.js';
import { nextTurn, pacer } from '../../src/pacer.js';
import { checkDatasetSize, checkPlanBytes, checkTaskCount, LIMITS, sharedBytes } from '../limits.js';
import { inputRecords } from '../datasets/read-records.js';
import type { JobDeps, PlanInput } from '../jobs/job-deps.js';
import type { RunPlan } from '../runs/runs.service.js';
import { chooseEmbedding } from '../embeddings/embeddings.service.js';
import type { CurateSpec } from './curate.spec.js';
import { judgeSettings, PASS_BATCH, passTasks, survivorTasks } from './curate-batches.js';
import { findDuplicatesPaced } from './dedup.js';
import { semanticPlan } from './semantic-plan.js';
import { describeMethod } from './semantic.task.js';
import { judgeable } from './record-text.js';
import { planToolCurate } from './tool-curate.js';
import { isToolRecord } from './tool-records.js';

const MAX_RECORDS = LIMITS.datasetRecords;
const TOOL_ONLY = ['turn_filter', 'difficulty_mix', 'min_per_tool'] as const;

/**
 * Plans a curate run. Exact and near deduplication are cheap, so they happen here; duplicates are
 * written to the rejected dataset by no-LLM tasks, and the survivors are judged in batches. Semantic
 * dedup needs embeddings first: the survivors are staged and a finisher task decides and plans the
 * judging (semantic-plan.ts).
 */
export async function planCurate(deps: Pick<JobDeps, 'database' | 'providers'>, input: PlanInput<CurateSpec>) {
  const { spec } = input;
  const details: ErrorDetail[] = [];
  if ((spec.dataset_id === undefined) === (spec.records === undefined)) details.push({ field: spec.records ? 'records' : 'dataset_id', message: 'give exactly one of dataset_id and records' });
  if (spec.judge === false) {
    if (!spec.dedup) details.push({ field: 'dedup', message: 'with judge: false there is nothing to do but deduplicate; give dedup' });
    for (const field of ['threshold', 'topic', 'batch_size', 'llm', 'system_prompt'] as const) {
      if (spec[field] !== undefined) details.push({ field, message: 'only applies when judging (judge is false)' });
    }
  }
  if (spec.dedup && spec.dedup.exact === false && spec.dedup.near === undefined && spec.dedup.semantic === undefined) details.push({ field: 'dedup', message: 'exact: false without near or semantic turns deduplication off' });
  if (spec.embedding !== undefined && spec.dedup?.semantic === undefined) details.push({ field: 'embedding', message: 'only applies with dedup.semantic' });
  if (spec.llm?.provider && !deps.providers.get(spec.llm.provider)) details.push({ field: 'llm.provider', message: `unknown provider "${spec.llm.provider}"` });
  if (details.length) throw new AppError('validation_failed', details.map((d) => `${d.field}: ${d.message}`).join('; '), details);
  // Chosen before any record is read, so an unusable embedding model is a 400 naming `embedding`.
  const method = spec.dedup?.semantic !== undefined ? chooseEmbedding(deps, spec.embedding) : undefined;

  await nextTurn();
  await checkDatasetSize(deps.database.db, input.owner, spec.dataset_id, MAX_RECORDS);
  const source = await inputRecords(deps.database, input.owner, spec, MAX_RECORDS);
  // Bounded before deduplication, on the records in: duplicates only make the run smaller.
  const batchSize = spec.batch_size ?? 5;
  const perTask = spec.judge === false ? PASS_BATCH : batchSize;
  checkTaskCount(Math.ceil(source.records.length / perTask), 'batch_size', `${source.records.length} records in batches of ${perTask}: raise batch_size`);
  if (source.records.length === 0) throw new AppError('validation_failed', 'dataset_id: the dataset is empty', [{ field: 'dataset_id', message: 'no records' }]);
  const bad = source.records.findIndex((r) => !judgeable(r.data));
  if (bad >= 0) {
    const field = spec.dataset_id ? 'dataset_id' : `records.${bad}`;
    throw new AppError('validation_failed', `${field}: record ${source.records[bad].key} is not a QA, CoT or conversation record`, [
      { field, message: 'records need question and answer (optionally reasoning), or messages' },
    ]);
  }
  // Tool-use records alone go through the tool-use gates; mixed with others, every record is judged
  // as a chat (a tool-call conversation with its calls in view), as before there were gates.
  const tools = source.records.findIndex((r) => isToolRecord(r.data));
  const other = source.records.findIndex((r) => !isToolRecord(r.data));
  if (tools >= 0 && other < 0) {
    if (spec.dedup?.semantic !== undefined) {
      throw new AppError('validation_failed', 'dedup.semantic: tool-use records are deduplicated by their instructions (exact, near), not semantically', [
        { field: 'dedup.semantic', message: 'not for tool-use records alone (messages with tool calls); use dedup.near' },
      ]);
    }
    return planToolCurate(input, source);
  }
  const alone = tools >= 0 ? ` alone: record ${source.records[other].key} does not call tools` : '';
  for (const field of TOOL_ONLY) if (spec[field] !== undefined) details.push({ field, message: `only applies to tool-use records (messages with tool calls)${alone}` });
  if (details.length) throw new AppError('validation_failed', details.map((d) => `${d.field}: ${d.message}`).join('; '), details);

  const duplicates = spec.dedup ? await findDuplicatesPaced(source.records, spec.dedup, pacer()) : [];
  const duplicateOf = new Map(duplicates.map((d) => [d.key, d]));
  const survivors = source.records.filter((r) => !duplicateOf.has(r.key));
  const rejectedId = newId('ds');
  const rejectedDuplicates = source.records
    .filter((r) => duplicateOf.has(r.key))
    .map((r) => {
      const { key: _key, ...rejection } = duplicateOf.get(r.key)!;
      return { key: r.key, data: { ...r.data, rejection } };
    });
  const judge = judgeSettings(spec);
  if (judge) checkPlanBytes(Math.ceil(survivors.length / judge.batch_size) * sharedBytes(judge), 'batch_size', 'every batch carries the system_prompt: raise batch_size or shorten it');
  // With semantic dedup the survivors are judged once the finisher has dropped its duplicates.
  const semantic = method && spec.dedup?.semantic !== undefined ? semanticPlan(survivors, { rejectedId, threshold: spec.dedup.semantic, method, judge }) : undefined;
  const tasks: NewTask[] = [...passTasks('dup', rejectedDuplicates, rejectedId), ...(semantic?.tasks ?? (await survivorTasks(survivors, judge, { rejected: rejectedId })))];

  const name = spec.dataset_name ?? `curated ${source.dataset?.name ?? 'records'}`;
  const stored = spec.records ? { ...spec, records: undefined, record_count: spec.records.length } : spec;
  return {
    kind: 'curate',
    spec: { threshold: spec.judge === false ? undefined : (spec.threshold ?? 7), ...stored },
    requestHash: hashOf(spec),
    tasks,
    dataset: { name, meta: { kind: 'curated', source_run_kind: 'curate', ...(spec.dataset_id ? { source_dataset_id: spec.dataset_id } : {}) } },
    extraDatasets: [
      { id: rejectedId, name: `${name} (rejected)`, meta: { kind: 'rejected', source_run_kind: 'curate' }, output: 'rejected_dataset_id' },
      ...(semantic ? [{ id: semantic.inputId, name: `${name} (semantic dedup input)`, meta: { kind: 'staging', source_run_kind: 'curate' }, output: 'semantic_input_dataset_id' }] : []),
    ],
    report: {
      records_in: source.records.length,
      duplicates: {
        exact: duplicates.filter((d) => d.reason === 'exact_duplicate').length,
        near: duplicates.filter((d) => d.reason === 'near_duplicate').length,
        // Decided by the finisher: curate.job.ts's report fills these in from the run's output.
        ...(semantic && method ? { semantic: null, embedding: describeMethod(method) } : {}),
      },
      to_judge: spec.judge === false ? 0 : survivors.length,
    },
  };
}
