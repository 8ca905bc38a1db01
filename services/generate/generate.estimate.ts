import { est, PROMPT_CHARS } from '../jobs/dry-run.js';
import type { TaskEstimate, TaskEstimator } from '../jobs/job-module.js';

/** Rough answer lengths in tokens (a pair, a CoT example, a conversation turn, …): an estimate, not a measurement. */
const TOKENS = { pair: 120, cotExample: 300, turn: 150, question: 40, verdict: 40 };

/** The topic judge a qa or cot task adds when the request names a `topic`: one call over its pairs. */
function topicJudge(p: Record<string, unknown>, items: number, tokensEach: number): TaskEstimate {
  if (typeof p.topic !== 'string') return { calls: 0, inputChars: 0, outputTokens: 0 };
  return { calls: 1, inputChars: PROMPT_CHARS + p.topic.length + items * tokensEach * 4, outputTokens: items * TOKENS.verdict };
}

/** What a chunk task sends besides the passage: its system prompt and seed examples. */
const steering = (p: Record<string, unknown>) => PROMPT_CHARS + est.chars(p.system_prompt) + est.chars(p.seed_examples);
const passage = (p: Record<string, unknown>) => est.chars(est.field(p.chunk, 'content')) + est.chars(est.field(p.chunk, 'section_path'));

const pairTask = (tokensEach: number): TaskEstimator => (p) => {
  const items = est.int(p.pairs, 3);
  const judge = topicJudge(p, items, tokensEach);
  return { calls: 1 + judge.calls, inputChars: steering(p) + passage(p) + judge.inputChars, outputTokens: items * tokensEach + judge.outputTokens };
};

export const generateEstimates: Record<string, TaskEstimator> = {
  'generate.qa': pairTask(TOKENS.pair),
  'generate.cot': pairTask(TOKENS.cotExample),
  'generate.conversation': (p) => ({
    calls: 1,
    inputChars: steering(p) + passage(p),
    outputTokens: est.int(p.turns, 3) * (p.answers === false ? TOKENS.question : TOKENS.turn),
  }),
  'generate.topic_sample': (p) => ({
    calls: 1,
    inputChars: steering(p) + est.chars(p.topic_path) + est.chars(p.instructions),
    outputTokens: est.int(p.turns, 1) * (p.task === 'cot' || est.field(p.conversation, 'type') === 'cot' ? TOKENS.cotExample : TOKENS.turn),
  }),
  'generate.topic_filter': (p) => ({ calls: 1, inputChars: PROMPT_CHARS + est.chars(p.topic) + est.chars(p.record), outputTokens: TOKENS.verdict }),
};
