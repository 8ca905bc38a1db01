import { est, PROMPT_CHARS } from '../jobs/dry-run.js';
import type { TaskEstimator } from '../jobs/job-module.js';

/** Characters of a sampled record as the judge sees it: a typical QA pair (records are not read at plan time). */
const RECORD_CHARS = 800;
/** Tokens of one record's score and reason, and of the strengths, weaknesses and the decision. */
const SCORE_TOKENS = 40;
const SUMMARY_TOKENS = 150;
const DECISION_TOKENS = 400;
/** Characters of one dataset's figures and judgment in the decision prompt. */
const DATASET_CHARS = 900;

/**
 * compare.metrics reads records without a teacher but queues its dataset's judge call (one call
 * over the seeded sample); the first dataset's also carries the decision call, made once per run by
 * the finisher. compare.judge and compare.decide are spawned, so a plan never holds them.
 */
export const compareEstimates: Record<string, TaskEstimator> = {
  'compare.metrics': (p) => {
    const finish = est.field(p, 'finish');
    if (est.field(finish, 'judge') !== true) return { calls: 0, inputChars: 0, outputTokens: 0 };
    const sample = est.int(p.sample_size, 10);
    const datasets = est.field(finish, 'datasets');
    const n = Array.isArray(datasets) ? datasets.length : 2;
    const judge = { calls: 1, inputChars: PROMPT_CHARS + est.chars(est.field(finish, 'system_prompt')) + sample * RECORD_CHARS, outputTokens: sample * SCORE_TOKENS + SUMMARY_TOKENS };
    if (p.index !== 0) return judge;
    return { calls: judge.calls + 1, inputChars: judge.inputChars + PROMPT_CHARS + n * DATASET_CHARS, outputTokens: judge.outputTokens + DECISION_TOKENS };
  },
};
