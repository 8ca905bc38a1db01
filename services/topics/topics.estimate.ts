import { est, PROMPT_CHARS } from '../jobs/dry-run.js';
import type { TaskEstimator } from '../jobs/job-module.js';

/** Tokens a subtopic takes in the answer (a graph's links to existing topics add as much again). */
const TOKENS_PER_TOPIC = 15;
/** Characters of the related topics a graph expansion is shown (topics.task.ts shows up to 20). */
const RELATED_CHARS = 20 * 40;

/**
 * topics.expand: the node's expansion and every expansion below it, since each queues its
 * children's: sum of degree^k for the levels left (a graph's node count is the same bound).
 */
export const topicsEstimates: Record<string, TaskEstimator> = {
  'topics.expand': (p) => {
    const degree = est.int(p.degree, 3);
    const levels = est.int(p.depth, 2) - est.int(est.field(p.node, 'depth'), 0);
    let calls = 0;
    for (let k = 0; k < levels; k++) calls += degree ** k;
    const links = p.mode === 'graph' && p.prompt_style !== 'isolated' && p.prompt_style !== 'anchored';
    const perCall = PROMPT_CHARS + est.chars(p.system_prompt) + est.chars(p.trail) + (links ? RELATED_CHARS : 0);
    return { calls, inputChars: calls * perCall, outputTokens: calls * degree * TOKENS_PER_TOPIC * (links ? 2 : 1) };
  },
};
