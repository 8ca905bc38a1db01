import { Type, type Static } from '@sinclair/typebox';
import { EmbeddingMethodSchema } from '../embeddings/embedding-method.js';
import { LlmSettings } from '../jobs/job-options.js';

const Dataset = Type.Object({ id: Type.String(), label: Type.String() });

/** compare.decide: the run's settings, the same in every finisher check the phase-1 tasks spawn. */
export const DecidePayload = Type.Object({
  datasets: Type.Array(Dataset, { minItems: 2 }),
  judge: Type.Boolean(),
  llm: LlmSettings,
  system_prompt: Type.Optional(Type.String()),
  /** How records are embedded for the semantic diversity figure (chosen at plan time). */
  method: EmbeddingMethodSchema,
  /** Seeds the judge sample and the semantic diversity sample. */
  seed: Type.Optional(Type.Integer()),
});
export type DecidePayload = Static<typeof DecidePayload>;

/** compare.metrics: one dataset's figures and its judge sample, paging through its records. */
export const MetricsPayload = Type.Object({
  index: Type.Integer({ minimum: 0 }),
  dataset: Dataset,
  /** Its record count at plan time: sizes the near-duplicate sample. */
  expected: Type.Integer({ minimum: 0 }),
  near: Type.Number(),
  seed: Type.Integer(),
  sample_size: Type.Integer({ minimum: 1 }),
  max_attempts: Type.Optional(Type.Integer()),
  finish: DecidePayload,
});

const Rec = Type.Object({ key: Type.String(), data: Type.Record(Type.String(), Type.Unknown()) });

/** compare.judge: one dataset's seeded sample for the judge. */
export const JudgePayload = Type.Object({
  index: Type.Integer({ minimum: 0 }),
  dataset: Dataset,
  records: Type.Array(Rec, { minItems: 1 }),
  finish: DecidePayload,
});

/** Where the phase-1 tasks leave their results in the run's output, one key per dataset (outputs merge by key). */
export const metricsKey = (index: number) => `compare_metrics_${index}`;
export const judgmentKey = (index: number) => `compare_judgment_${index}`;

/** The task kinds that run before the decision (the finisher waits for every one of them, embed tasks too). */
export const METRICS_KIND = 'compare.metrics';
export const JUDGE_KIND = 'compare.judge';
