import { Type, type Static } from '@sinclair/typebox';
import { dryRun, jobOptions } from '../jobs/job-options.js';
import { LIMITS } from '../limits.js';
import { EmbeddingOption } from '../embeddings/embedding.spec.js';

export const CurateSpec = Type.Object(
  {
    dataset_id: Type.Optional(Type.String({ pattern: '^ds_[0-9a-f]{24}$', description: `Dataset of QA, CoT or conversation records to judge (at most ${LIMITS.datasetRecords.toLocaleString('en-US')} records)` })),
    records: Type.Optional(Type.Array(Type.Object({}, { additionalProperties: true }), { minItems: 1, maxItems: 10_000, description: 'Inline records (instead of dataset_id)' })),
    threshold: Type.Optional(Type.Number({ minimum: 0, maximum: 10, description: 'Keep records whose rating (clarity + accuracy + usefulness + difficulty, 0–10) is at least this (default 7)' })),
    topic: Type.Optional(Type.String({ minLength: 2, maxLength: 500, description: 'Also judge topic relevance; off-topic records are rejected' })),
    batch_size: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 20, description: `Records per judge call (default 5); records ÷ batch_size at most ${LIMITS.tasksPerRun.toLocaleString('en-US')} tasks` }),
    ),
    judge: Type.Optional(Type.Boolean({ description: 'false: only deduplicate, no teacher calls (default true)' })),
    dedup: Type.Optional(
      Type.Object(
        {
          exact: Type.Optional(Type.Boolean({ description: 'Drop exact duplicates by normalised text (default true)' })),
          near: Type.Optional(Type.Number({ minimum: 0.5, maximum: 1, description: 'Drop near duplicates whose question is at least this similar (MinHash/LSH Jaccard estimate), e.g. 0.85' })),
          semantic: Type.Optional(
            Type.Number({
              // Below 0.7 hyperplane LSH loses its recall and the search would be exact, n²/2 pairs.
              minimum: 0.7,
              maximum: 1,
              description:
                'Drop records whose embedding (see `embedding`) has a cosine similarity above this to a kept record, e.g. 0.92 (SemDeDup): paraphrases MinHash misses; at least 0.7 (below it the search could only be exact, quadratic in the records). ' +
                'The better-rated record of a pair is kept (`curation.rating`, `rating` or `multi_score.combined`), else the first in a fixed order of the texts, whatever the input order. ' +
                'Runs after exact/near and before judging, so the judge sees only survivors. QA, CoT and conversation records, not tool-use records alone',
            }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    embedding: Type.Optional(EmbeddingOption),
    turn_filter: Type.Optional(
      Type.Object(
        { threshold: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'Keep an example only if every step is rated at least this (default 0.7)' })) },
        { additionalProperties: false, description: `Tool-use records: rate each step 0–1 with the earlier steps as context (ToolMind; off by default, as Generator). At most ${LIMITS.curateToolSteps} steps per example` },
      ),
    ),
    difficulty_mix: Type.Optional(
      Type.Object(
        { easy: Type.Number({ minimum: 0, maximum: 1 }), medium: Type.Number({ minimum: 0, maximum: 1 }), hard: Type.Number({ minimum: 0, maximum: 1 }) },
        { additionalProperties: false, description: 'Tool-use records: shares of kept examples by `difficulty`, adding up to 1 (default easy 0.3, medium 0.5, hard 0.2); the best-rated are kept' },
      ),
    ),
    min_per_tool: Type.Optional(
      Type.Integer({ minimum: 1, maximum: LIMITS.toolExamplesPerTool, description: 'Tool-use records: the report warns for each tool kept in fewer examples (default 10)' }),
    ),
    ...jobOptions,
    ...dryRun,
  },
  { additionalProperties: false },
);

export type CurateSpec = Static<typeof CurateSpec>;
