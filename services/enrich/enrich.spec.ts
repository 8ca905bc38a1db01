import { Type, type Static } from '@sinclair/typebox';
import { dryRun, jobOptions } from '../jobs/job-options.js';
import { LIMITS } from '../limits.js';

export const EnrichSpec = Type.Object(
  {
    dataset_id: Type.Optional(Type.String({ pattern: '^ds_[0-9a-f]{24}$', description: `Dataset of question–answer records to enrich (at most ${LIMITS.datasetRecords.toLocaleString('en-US')} records)` })),
    records: Type.Optional(
      Type.Array(Type.Object({}, { additionalProperties: true }), { minItems: 1, maxItems: 10_000, description: 'Inline question–answer records (instead of dataset_id)' }),
    ),
    mode: Type.Optional(
      Type.Union([Type.Literal('rewrite'), Type.Literal('cot')], {
        description: 'rewrite: clearer, better structured answers that keep every fact (default); cot: add 2–5 reasoning steps, answer unchanged',
      }),
    ),
    preserve_original: Type.Optional(Type.Boolean({ description: 'rewrite: keep the old answer as original_answer (default true)' })),
    batch_size: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 20, description: `Pairs per teacher call (default 5); records ÷ batch_size at most ${LIMITS.tasksPerRun.toLocaleString('en-US')} tasks` }),
    ),
    ...jobOptions,
    ...dryRun,
  },
  { additionalProperties: false },
);

export type EnrichSpec = Static<typeof EnrichSpec>;
