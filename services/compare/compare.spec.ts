import { Type, type Static } from '@sinclair/typebox';
import { EmbeddingOption } from '../embeddings/embedding.spec.js';
import { budgetOption, cacheOption, dryRun, LlmSettings } from '../jobs/job-options.js';
import { LIMITS } from '../limits.js';

/** Records per dataset the judge reads at most (one call per dataset carries them all). */
export const MAX_SAMPLE = 50;

/** The compare options a pipeline's compare stage shares with POST /v1/compare. */
export const compareOptions = {
  labels: Type.Optional(
    Type.Array(Type.String({ minLength: 1, maxLength: 100 }), {
      minItems: 2,
      maxItems: 10,
      uniqueItems: true,
      description: 'Names for the datasets in the report and the decision, one per dataset in order (default: the dataset names, made unique)',
    }),
  ),
  sample_size: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_SAMPLE, description: 'Records per dataset the judge scores 1–10 (default 10)' })),
  seed: Type.Optional(Type.Integer({ minimum: 0, maximum: 2 ** 31 - 1, description: 'Seeds the random sample: the same seed picks the same records (default 0)' })),
  near: Type.Optional(Type.Number({ minimum: 0.5, maximum: 1, description: 'MinHash Jaccard threshold of the near-duplicate rate, as curate\'s dedup.near (default 0.85)' })),
  judge: Type.Optional(Type.Boolean({ description: 'false: no teacher calls; the decision is the metrics heuristic (default true)' })),
  embedding: Type.Optional(EmbeddingOption),
  system_prompt: Type.Optional(Type.String({ maxLength: 20_000, description: 'Replaces the default system prompt of the judge' })),
  max_attempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 10, description: 'Attempts per task before it counts as failed (default 3)' })),
  llm: Type.Optional(LlmSettings),
  ...cacheOption,
  ...budgetOption,
};

export const CompareSpec = Type.Object(
  {
    dataset_ids: Type.Array(Type.String({ pattern: '^ds_[0-9a-f]{24}$' }), {
      minItems: 2,
      maxItems: 10,
      description: `2–10 distinct datasets of QA, CoT or chat records (at most ${LIMITS.selectRecords.toLocaleString('en-US')} records each)`,
    }),
    ...compareOptions,
    ...dryRun,
  },
  { additionalProperties: false },
);
export type CompareSpec = Static<typeof CompareSpec>;

/** A pipeline's compare stage: the datasets of its earlier stages, plus any `dataset_ids` given here. */
export const CompareStageSpec = Type.Object(
  {
    dataset_ids: Type.Optional(
      Type.Array(Type.String({ pattern: '^ds_[0-9a-f]{24}$' }), { minItems: 1, maxItems: 8, description: 'More datasets to compare against (e.g. last release\'s)' }),
    ),
    ...compareOptions,
  },
  {
    additionalProperties: false,
    description:
      'Last stage: compare the datasets the earlier stages wrote (e.g. generate vs curate), labelled by stage, plus `dataset_ids`; the pipeline\'s dataset stays the last stage\'s that wrote one',
  },
);
export type CompareStageSpec = Static<typeof CompareStageSpec>;
