import { AppError, type ErrorDetail } from '../../src/errors.js';
import { hashOf } from '../../src/ids.js';
import { nextTurn, pacer } from '../../src/pacer.js';
import { checkDatasetSize, checkPlanBytes, checkTaskCount, LIMITS, sharedBytes } from '../limits.js';
import { inputRecords } from '../datasets/read-records.js';
import { shapeOf } from '../records/shape-of.js';
import type { JobDeps, PlanInput } from '../jobs/job-deps.js';
import type { RunPlan } from '../runs/runs.service.js';
import type { EnrichSpec } from './enrich.spec.js';
import { enrichTask } from './enrich.task.js';

const MAX_RECORDS = LIMITS.datasetRecords;
/** Enrich rewrites a pair's answer or adds its reasoning: QA and CoT records, with words in both. */
function isPair(d: Record<string, unknown>): boolean {
  const shape = shapeOf(d);
  return (shape === 'qa' || shape === 'cot') && String(d.question).trim() !== '' && String(d.answer).trim() !== '';
}

/** Plans an enrich run: the source's pairs in batches of `batch_size`, one task per batch. */
export async function planEnrich(deps: Pick<JobDeps, 'database' | 'providers'>, input: PlanInput<EnrichSpec>) {
  const { spec } = input;
  const details: ErrorDetail[] = [];
  if ((spec.dataset_id === undefined) === (spec.records === undefined)) details.push({ field: spec.records ? 'records' : 'dataset_id', message: 'give exactly one of dataset_id and records' });
  if (spec.preserve_original !== undefined && (spec.mode ?? 'rewrite') !== 'rewrite') details.push({ field: 'preserve_original', message: 'only applies to mode "rewrite"' });
  if (spec.llm?.provider && !deps.providers.get(spec.llm.provider)) details.push({ field: 'llm.provider', message: `unknown provider "${spec.llm.provider}"` });
  if (details.length) throw new AppError('validation_failed', details.map((d) => `${d.field}: ${d.message}`).join('; '), details);

  await nextTurn();
  await checkDatasetSize(deps.database.db, input.owner, spec.dataset_id, MAX_RECORDS);
  const source = await inputRecords(deps.database, input.owner, spec, MAX_RECORDS);
  const bad = source.records.findIndex((r) => !isPair(r.data));
  if (bad >= 0) {
    const field = spec.dataset_id ? 'dataset_id' : `records.${bad}`;
    throw new AppError('validation_failed', `${field}: record ${source.records[bad].key} has no question and answer to enrich`, [{ field, message: 'every record needs non-empty question and answer strings' }]);
  }
  if (source.records.length === 0) throw new AppError('validation_failed', 'dataset_id: the dataset is empty', [{ field: 'dataset_id', message: 'no records' }]);

  const mode = spec.mode ?? 'rewrite';
  const batchSize = spec.batch_size ?? 5;
  const batches = Math.ceil(source.records.length / batchSize);
  checkTaskCount(batches, 'batch_size', `${source.records.length} records in batches of ${batchSize}: raise batch_size`);
  const shared = { mode, preserve_original: spec.preserve_original !== false, llm: spec.llm ?? {}, system_prompt: spec.system_prompt };
  checkPlanBytes(batches * sharedBytes(shared), 'batch_size', 'every batch carries the system_prompt: raise batch_size or shorten it');
  const pace = pacer();
  const tasks = [];
  for (let i = 0; i < source.records.length; i += batchSize) {
    tasks.push(enrichTask.plan(`b${i / batchSize}`, { ...shared, records: source.records.slice(i, i + batchSize) }, spec.max_attempts));
    const turn = pace();
    if (turn) await turn;
  }
  const stored = spec.records ? { ...spec, records: undefined, record_count: spec.records.length } : spec;
  return {
    kind: 'enrich',
    spec: { mode, ...stored },
    requestHash: hashOf(spec),
    tasks,
    dataset: {
      name: spec.dataset_name ?? `${mode === 'rewrite' ? 'enriched' : 'cot-enhanced'} ${source.dataset?.name ?? 'records'}`,
      meta: { kind: mode === 'cot' ? 'cot' : 'qa', source_run_kind: 'enrich', ...(spec.dataset_id ? { source_dataset_id: spec.dataset_id } : {}) },
    },
    report: { records_in: source.records.length, batches: tasks.length, mode },
  };
}
