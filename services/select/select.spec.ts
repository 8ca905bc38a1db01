import { Type, type Static } from '@sinclair/typebox';
import { EmbeddingOption } from '../embeddings/embedding.spec.js';
import { dryRun, jobOptions } from '../jobs/job-options.js';
import { LIMITS } from '../limits.js';
import { SCORE_BY } from './select.payloads.js';

const score = (description: string) => Type.Number({ minimum: 0, maximum: 100, description });

/** The request of POST /v1/select (and, without its input and dry_run, a pipeline's `select` stage). */
export const SelectSpec = Type.Object(
  {
    dataset_id: Type.Optional(Type.String({ pattern: '^ds_[0-9a-f]{24}$', description: `Dataset to select from (at most ${LIMITS.selectRecords.toLocaleString('en-US')} records)` })),
    records: Type.Optional(Type.Array(Type.Object({}, { additionalProperties: true }), { minItems: 1, maxItems: 10_000, description: 'Inline records (instead of dataset_id)' })),
    strategy: Type.Union([Type.Literal('deita'), Type.Literal('coverage'), Type.Literal('top_k')], {
      description:
        'deita: by combined score, skipping a record too close to one already selected; coverage: k-means over embeddings, picking from every cluster (no teacher); top_k: the best by `score_by`',
    }),
    target: Type.Integer({ minimum: 1, maximum: LIMITS.selectRecords, description: 'Records to select (fewer when fewer qualify)' }),
    weights: Type.Optional(
      Type.Object(
        { complexity: Type.Optional(score('default 0.3')), quality: Type.Optional(score('default 0.5')), diversity: Type.Optional(score('default 0.2')) },
        { additionalProperties: false, description: 'Weights of the combined score (deita, top_k), normalised to sum 1; a weight left out is 0 when any is given' },
      ),
    ),
    judge: Type.Optional(
      Type.Boolean({
        description:
          'true (default): complexity and quality scored by the teacher in batches; false: the heuristic (services/select/select-heuristic.ts, no teacher call)',
      }),
    ),
    threshold: Type.Optional(Type.Number({ minimum: 0.7, maximum: 1, description: 'deita: a record whose cosine similarity to an already selected one is above this is skipped (default 0.9; at least 0.7: below it the search could only be exact, quadratic in the records)' })),
    pick: Type.Optional(Type.Union([Type.Literal('centroid'), Type.Literal('diverse')], { description: 'coverage: nearest each cluster centre (default), or round-robin farthest from those selected' })),
    score_by: Type.Optional(
      Type.Union(SCORE_BY.map((s) => Type.Literal(s)), {
        description: 'top_k: the score ranked by (default combined); rating = the records’ curation.rating from POST /v1/curate',
      }),
    ),
    min_score: Type.Optional(Type.Number({ minimum: 0, maximum: 10, description: 'deita, top_k: records whose combined score is below this are not selected' })),
    seed: Type.Optional(Type.Integer({ minimum: 0, maximum: 2 ** 31 - 1, description: 'coverage: the k-means seed (default 42)' })),
    batch_size: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 20, description: `Records per teacher call (default 5); records ÷ batch_size at most ${LIMITS.tasksPerRun.toLocaleString('en-US')} tasks` }),
    ),
    embedding: Type.Optional(EmbeddingOption),
    ...jobOptions,
    ...dryRun,
  },
  { additionalProperties: false },
);

export type SelectSpec = Static<typeof SelectSpec>;

/** A pipeline's `select` stage: the request without its input (the previous stage's dataset) and dry_run. */
export const SelectStageSpec = Type.Omit(SelectSpec, ['dataset_id', 'records', 'dry_run'], {
  additionalProperties: false,
  description: 'Select the best diverse subset of the previous stage’s dataset (POST /v1/select without dataset_id/records); the next stage reads the selected records',
});
