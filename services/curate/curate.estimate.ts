import { est, PROMPT_CHARS } from '../jobs/dry-run.js';
import type { TaskEstimator } from '../jobs/job-module.js';

/** Tokens of one record's verdict: four scores, topic relevance and a sentence of reasoning. */
const VERDICT_TOKENS = 80;

/** curate.judge: one call over its batch (curate.tool_judge: two with the turn filter); curate.pass and curate.tool_balance write duplicates or unjudged records without a teacher. */
export const curateEstimates: Record<string, TaskEstimator> = {
  'curate.judge': (p) => {
    const records = Array.isArray(p.records) ? p.records.length : 0;
    return { calls: 1, inputChars: PROMPT_CHARS + est.chars(p.system_prompt) + est.chars(p.topic) + est.chars(p.records), outputTokens: records * VERDICT_TOKENS };
  },
  // With the turn filter, a second call rates the steps (each with its earlier steps again: about twice the text).
  'curate.tool_judge': (p) => {
    const records = Array.isArray(p.records) ? p.records.length : 0;
    const steps = p.turn_filter === undefined ? 0 : 1;
    return { calls: 1 + steps, inputChars: (1 + steps) * PROMPT_CHARS + est.chars(p.system_prompt) + (1 + 2 * steps) * est.chars(p.records), outputTokens: records * (1 + 2 * steps) * VERDICT_TOKENS };
  },
};
