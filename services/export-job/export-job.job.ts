import type { JobModule } from '../jobs/job-module.js';
import { endpoint } from '../jobs/job-module.js';
import { planExport } from './export-job.service.js';
import { ExportJobSpec, MAX_EXPORT_BYTES } from './export-job.spec.js';
import { exportWriteTask } from './export-job.task.js';

/** Files for a trainer: one or more datasets rendered, split by group, sharded, with a Hugging Face dataset card. */
export const exportJob: JobModule = {
  runKind: 'export',
  endpoint: endpoint({
    path: '/v1/export',
    operationId: 'createExportRun',
    summary: 'Export datasets as files: a split, sharded Hugging Face dataset folder (Parquet or JSONL) with its card',
    description:
      'A run (queued, streamed and canceled like any) that renders the records of `dataset_ids` in `format` (records the format refuses are skipped ' +
      'and counted), assigns each group of records (same source, else chunk, else normalised question) to a split by a seeded hash, cuts each ' +
      'split into shards of about `max_shard_bytes` named as Hugging Face expects (`data/train-00000-of-00001.parquet`) and writes a dataset card ' +
      '(`README.md`: YAML front matter with configs, splits, sizes, license; a body with the source runs). Parquet columns are UTF-8 strings; nested ' +
      `values are JSON text. The files are stored in the database (at most ${MAX_EXPORT_BYTES / 1024 ** 3} GiB per export): GET /v1/exports/{id} lists ` +
      'them, GET /v1/exports/{id}/files/{path} downloads one and GET /v1/exports/{id}/archive all as one tar.',
    body: ExportJobSpec,
    examples: {
      'application/json': {
        parquet: {
          summary: 'A 90/5/5 split as Parquet',
          value: { dataset_ids: ['ds_000000000000000000000001'], format: 'parquet', split: { train: 0.9, validation: 0.05, test: 0.05 }, seed: 42 },
        },
      },
    },
    plan: (deps, input) => planExport(deps, input),
  }),
  tasks: [exportWriteTask],
};
