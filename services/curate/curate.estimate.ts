import { est, PROMPT_CHARS } from '../jobs/dry-run.js';
import type { TaskEstimator } from '../jobs/job-module.js';

/** Tokens of one record's verdict: four scores, topic relevance and a sentence of reasoning. */
const VERDICT_TOKENS = 80;

/** curate.judge: one call over its batch; curate.pass writes duplicates or unjudged records without a teacher. */
export const curateEstimates: Record<string, TaskEstimator> = {
  'curate.judge': (p) => {
    const records = Array.isArray(p.records) ? p.records.length : 0;
    return { calls: 1, inputChars: PROMPT_CHARS + est.chars(p.system_prompt) + est.chars(p.topic) + est.chars(p.records), outputTokens: records * VERDICT_TOKENS };
  },
};
