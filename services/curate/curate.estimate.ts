import { EMBED_CALL_INPUTS } from '../embeddings/embed.task.js';
import { est, PROMPT_CHARS } from '../jobs/dry-run.js';
import type { TaskEstimator } from '../jobs/job-module.js';

/** Tokens of one record's verdict: four scores, topic relevance and a sentence of reasoning. */
const VERDICT_TOKENS = 80;

/** curate.judge: one call over its batch (curate.tool_judge: two with the turn filter); curate.pass and curate.tool_balance write duplicates or unjudged records without a teacher; curate.stage counts the embedding and judge calls its records will cost. */
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
  // Semantic dedup stages the survivors; what follows is planned later, so it is counted here: the
  // embedding calls (none for the lexical fallback, none for texts embedded before: an upper bound)
  // and the judge calls over every staged record (semantic duplicates only make it fewer).
  'curate.stage': (p) => {
    const records = Array.isArray(p.records) ? p.records.length : 0;
    const chars = est.chars(p.records);
    const method = est.field(p.finish, 'method');
    const judge = est.field(p.finish, 'judge');
    const embedCalls = est.field(method, 'kind') === 'model' ? Math.ceil(records / EMBED_CALL_INPUTS) : 0;
    const judgeCalls = judge === undefined ? 0 : Math.ceil(records / est.int(est.field(judge, 'batch_size'), 5));
    const perJudgeCall = PROMPT_CHARS + est.chars(est.field(judge, 'system_prompt')) + est.chars(est.field(judge, 'topic'));
    return {
      calls: embedCalls + judgeCalls,
      inputChars: (embedCalls > 0 ? chars : 0) + (judgeCalls > 0 ? judgeCalls * perJudgeCall + chars : 0),
      outputTokens: judgeCalls > 0 ? records * VERDICT_TOKENS : 0,
    };
  },
};
