import { CHARS_PER_TOKEN, est, PROMPT_CHARS } from '../jobs/dry-run.js';
import type { TaskEstimator } from '../jobs/job-module.js';

/** enrich.batch: one call over its records; the answer restates them, rewritten (a bit longer) or with reasoning added (longer still). */
export const enrichEstimates: Record<string, TaskEstimator> = {
  'enrich.batch': (p) => {
    const records = est.chars(p.records);
    return { calls: 1, inputChars: PROMPT_CHARS + est.chars(p.system_prompt) + records, outputTokens: Math.ceil((records / CHARS_PER_TOKEN) * (p.mode === 'cot' ? 1.5 : 1.2)) };
  },
};
