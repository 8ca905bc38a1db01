import { est, PROMPT_CHARS } from '../jobs/dry-run.js';
import type { TaskEstimator } from '../jobs/job-module.js';

/** Tokens of one record's scores: seven small integers and a cognitive type under its label. */
const SCORE_TOKENS = 70;

/** select.score: one teacher call over its batch when judged (a copy of inline records otherwise); the finisher, its planner and the writes call no teacher. */
export const selectEstimates: Record<string, TaskEstimator> = {
  'select.score': (p) => {
    if (p.judge === undefined) return { calls: 0, inputChars: 0, outputTokens: 0 };
    const records = Array.isArray(p.ids) ? p.ids.length : Array.isArray(p.records) ? p.records.length : 0;
    const chars = typeof p.chars === 'number' ? p.chars : 0;
    const system = typeof p.judge === 'object' && p.judge !== null && 'system_prompt' in p.judge ? est.chars(p.judge.system_prompt) : 0;
    return { calls: 1, inputChars: PROMPT_CHARS + system + chars, outputTokens: records * SCORE_TOKENS };
  },
};
