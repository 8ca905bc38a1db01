import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { AppError } from '../../src/errors.js';
import { heuristicComplexity, heuristicQuality, questionAnswer } from './select-heuristic.js';

const zeroTen = Type.Integer({ minimum: 0, maximum: 10 });
export const COGNITIVE_TYPES = ['recall', 'comprehension', 'application', 'analysis', 'evaluation', 'creation'] as const;

/** The teacher's answer for one record (DEITA's two scorers in one call), under the record's label. */
export const TeacherScore = Type.Object({
  complexity: Type.Object({
    complexity: zeroTen,
    reasoning_depth: zeroTen,
    knowledge_breadth: zeroTen,
    cognitive_type: Type.Union(COGNITIVE_TYPES.map((t) => Type.Literal(t))),
  }),
  quality: Type.Object({ clarity: zeroTen, accuracy: zeroTen, usefulness: zeroTen }),
});
export type TeacherScore = Static<typeof TeacherScore>;

/** What a score task stores on a record before the finisher knows its diversity. */
export const StagedScore = Type.Object({
  complexity: Type.Number(),
  quality: Type.Number(),
  judge_model: Type.String(),
  complexity_detail: Type.Optional(Type.Object({ reasoning_depth: Type.Number(), knowledge_breadth: Type.Number(), cognitive_type: Type.String() })),
  quality_detail: Type.Optional(Type.Object({ clarity: Type.Number(), accuracy: Type.Number(), usefulness: Type.Number() })),
});
export type StagedScore = Static<typeof StagedScore>;

export const Weights = Type.Object({ complexity: Type.Number(), quality: Type.Number(), diversity: Type.Number() });
export type Weights = Static<typeof Weights>;

/** The seed CLI's weights (its README says 0.4/0.4/0.2; the code runs with these). */
export const DEFAULT_WEIGHTS: Weights = { complexity: 0.3, quality: 0.5, diversity: 0.2 };

const round = (n: number) => Math.round(n * 1e4) / 1e4;

/** The caller's weights normalised to sum 1 (one left out is 0 when any is given); all zero is a 400 naming `weights`. */
export function normaliseWeights(given: Partial<Weights> | undefined): Weights {
  if (!given) return DEFAULT_WEIGHTS;
  const w = { complexity: given.complexity ?? 0, quality: given.quality ?? 0, diversity: given.diversity ?? 0 };
  const sum = w.complexity + w.quality + w.diversity;
  if (sum <= 0) throw new AppError('validation_failed', 'weights: at least one weight must be above 0', [{ field: 'weights', message: 'all weights are 0' }]);
  return { complexity: round(w.complexity / sum), quality: round(w.quality / sum), diversity: round(w.diversity / sum) };
}

/** A record's scores from the teacher's answer: quality is the mean of its three parts. */
export function fromTeacher(s: TeacherScore, model: string): StagedScore {
  const { complexity, ...depth } = s.complexity;
  return {
    complexity,
    quality: round((s.quality.clarity + s.quality.accuracy + s.quality.usefulness) / 3),
    judge_model: model,
    complexity_detail: depth,
    quality_detail: s.quality,
  };
}

/** A record's scores by the heuristic (select-heuristic.ts). */
export function fromHeuristic(data: Record<string, unknown>): StagedScore {
  const { question, answer } = questionAnswer(data);
  return { complexity: heuristicComplexity(question), quality: heuristicQuality(question, answer), judge_model: 'heuristic' };
}

/** The scores a staged record carries (a score task of this run wrote them), or the heuristic's when it was not judged. */
export function stagedScore(data: Record<string, unknown>, judged: boolean): StagedScore {
  if (!judged) return fromHeuristic(data);
  const s = data.multi_score;
  if (!Value.Check(StagedScore, s)) throw new Error('a judged record has no scores: the run wrote every record it judged with them');
  return s;
}

/** Diversity on 0–10: ten times the cosine distance to the nearest other record of the whole dataset, at most 10. */
export const diversityOf = (nearestSimilarity: number) => round(Math.min(10, Math.max(0, 10 * (1 - nearestSimilarity))));

export const combinedOf = (s: { complexity: number; quality: number; diversity: number }, w: Weights) =>
  round(w.complexity * s.complexity + w.quality * s.quality + w.diversity * s.diversity);

/** The `multi_score` an output record carries. */
export function multiScore(staged: StagedScore, diversity: number, weights: Weights, embedding: string) {
  const parts = { complexity: staged.complexity, quality: staged.quality, diversity };
  return { ...parts, combined: combinedOf(parts, weights), weights, ...staged, embedding };
}

