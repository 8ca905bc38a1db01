import { Type, type Static } from '@sinclair/typebox';
import { EmbeddingMethodSchema } from '../embeddings/embedding-method.js';
import { LlmSettings } from '../jobs/job-options.js';
import { Weights } from './select-scores.js';

export const STRATEGIES = ['deita', 'coverage', 'top_k'] as const;
export const SCORE_BY = ['combined', 'complexity', 'quality', 'diversity', 'rating'] as const;

/** What the finisher decides by: the request's selection options, defaults filled in. */
export const SelectSettings = Type.Object({
  strategy: Type.Union(STRATEGIES.map((s) => Type.Literal(s))),
  target: Type.Integer({ minimum: 1 }),
  weights: Weights,
  threshold: Type.Number(),
  pick: Type.Union([Type.Literal('centroid'), Type.Literal('diverse')]),
  score_by: Type.Union(SCORE_BY.map((s) => Type.Literal(s))),
  min_score: Type.Optional(Type.Number()),
  seed: Type.Integer(),
});
export type SelectSettings = Static<typeof SelectSettings>;

/** select.finish: once every embed and score task of the run is done, selects and spawns the writes. */
export const FinishPayload = Type.Object({
  dataset_id: Type.String(),
  unselected_dataset_id: Type.String(),
  owner: Type.String(),
  /** The dataset the finisher reads: the run's scored or input copy, or the source when nothing was copied. */
  from_dataset_id: Type.String(),
  /** Whether the records carry the teacher's scores (else the heuristic's are computed as they are read). */
  judged: Type.Boolean(),
  method: EmbeddingMethodSchema,
  settings: SelectSettings,
});
export type FinishPayload = Static<typeof FinishPayload>;

/** select.begin: inline records, once every one is in the run's copy, plans the embeddings of that copy. */
export const BeginPayload = Type.Object({ dataset_id: Type.String(), finish: FinishPayload });

const Rec = Type.Object({ key: Type.String(), data: Type.Record(Type.String(), Type.Unknown()) });

/** select.score: one batch, read by id from the source dataset or carried inline, copied into the run's staged dataset with its scores. */
export const ScorePayload = Type.Object({
  dataset_id: Type.String(),
  staged_dataset_id: Type.String(),
  source_dataset_id: Type.Optional(Type.String()),
  ids: Type.Optional(Type.Array(Type.Integer())),
  records: Type.Optional(Type.Array(Rec)),
  /** The teacher's settings; absent = copy only (inline records that are not judged). */
  judge: Type.Optional(Type.Object({ llm: LlmSettings, system_prompt: Type.Optional(Type.String()) })),
  /** Characters of the batch's text, for a dry run's estimate. */
  chars: Type.Integer(),
  /** The check each finished batch queues: the finisher (dataset input) or the embedding planner (inline). */
  then: Type.Union([Type.Object({ kind: Type.Literal('finish'), payload: FinishPayload }), Type.Object({ kind: Type.Literal('begin'), payload: BeginPayload })]),
});
export type ScorePayload = Static<typeof ScorePayload>;

/** One record as the finisher decided it: selected or not, its diversity, its cluster, why it was left out. */
export const WriteItem = Type.Object({
  id: Type.Integer(),
  s: Type.Boolean(),
  d: Type.Optional(Type.Number()),
  c: Type.Optional(Type.Integer()),
  r: Type.Optional(Type.String()),
});
export type WriteItem = Static<typeof WriteItem>;

/** select.write: up to 500 decided records, read by id and written to the selected or the unselected dataset. */
export const WritePayload = Type.Object({
  dataset_id: Type.String(),
  unselected_dataset_id: Type.String(),
  from_dataset_id: Type.String(),
  judged: Type.Boolean(),
  settings: SelectSettings,
  /** How the vectors were made, as multi_score names it. */
  embedding: Type.String(),
  k: Type.Optional(Type.Integer()),
  items: Type.Array(WriteItem),
});
export type WritePayload = Static<typeof WritePayload>;

/** Task kinds, named here so the checks can name the kinds they wait for without importing the tasks. */
export const SCORE_KIND = 'select.score';
export const FINISH_KIND = 'select.finish';
export const BEGIN_KIND = 'select.begin';
export const WRITE_KIND = 'select.write';
