import { findDataset } from '../../db/datasets.repository.js';
import { AppError, type ErrorDetail } from '../../src/errors.js';
import { hashOf } from '../../src/ids.js';
import type { JobDeps } from '../jobs/job-deps.js';
import type { RunPlan } from '../runs/runs.service.js';
import { MAX_EXPORT_RECORDS, SHARD_BYTES, SPLIT_NAME, type ExportJobSpec } from './export-job.spec.js';
import { exportWriteTask } from './export-job.task.js';

const invalid = (details: ErrorDetail[]) => new AppError('validation_failed', details.map((d) => `${d.field}: ${d.message}`).join('; '), details);

/**
 * Plans an export run: checks what the schema cannot (fractions summing to 1, `render` only with
 * Parquet, the caller's datasets and their size) and queues the one task that writes the files.
 */
export async function planExport(deps: Pick<JobDeps, 'database'>, input: { owner: string; spec: ExportJobSpec }): Promise<RunPlan> {
  const { spec, owner } = input;
  const details: ErrorDetail[] = [];
  const split = spec.split ?? { train: 1 };
  const sum = Object.values(split).reduce((a, b) => a + b, 0);
  for (const name of Object.keys(split)) if (!new RegExp(SPLIT_NAME).test(name)) details.push({ field: `split.${name}`, message: `a split name matches ${SPLIT_NAME}` });
  for (const [name, fraction] of Object.entries(split)) if (!(fraction > 0)) details.push({ field: `split.${name}`, message: 'a fraction is greater than 0' });
  if (Math.abs(sum - 1) > 1e-9) details.push({ field: 'split', message: `the fractions must sum to 1; they sum to ${sum}` });
  if (spec.render && spec.format !== 'parquet') details.push({ field: 'render', message: 'only applies to format parquet (other formats are the rendering)' });
  let records = 0;
  for (const [i, id] of spec.dataset_ids.entries()) {
    const found = await findDataset(deps.database.db, id, owner);
    if (!found) details.push({ field: `dataset_ids.${i}`, message: `no dataset ${id}` });
    else records += found.recordCount;
  }
  if (records > MAX_EXPORT_RECORDS) details.push({ field: 'dataset_ids', message: `the datasets hold ${records} records; at most ${MAX_EXPORT_RECORDS} per export` });
  if (details.length) throw invalid(details);
  const payload = {
    dataset_ids: spec.dataset_ids,
    format: spec.format,
    render: spec.render ?? 'jsonl',
    splits: Object.entries(split).map(([name, fraction]) => ({ name, fraction })),
    seed: spec.seed ?? 42,
    group_by: spec.group_by ?? 'chunk',
    max_shard_bytes: spec.max_shard_bytes ?? SHARD_BYTES.default,
    license: spec.license ?? 'other',
    ...(spec.system_prompt !== undefined ? { system_prompt: spec.system_prompt } : {}),
  };
  return {
    kind: 'export',
    spec,
    requestHash: hashOf(spec),
    tasks: [exportWriteTask.plan('export', payload)],
    report: { records, splits: payload.splits, seed: payload.seed, group_by: payload.group_by, format: spec.format },
  };
}
