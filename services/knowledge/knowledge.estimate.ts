import { CHARS_PER_TOKEN as CHARS, est, PROMPT_CHARS } from '../jobs/dry-run.js';
import type { TaskEstimate, TaskEstimator } from '../jobs/job-module.js';

/** Rough answer lengths in tokens: a summary, a question, an answer, a key fact, a faithfulness verdict. */
const TOKENS = { summary: 300, question: 30, answer: 120, fact: 30, verdict: 40 };

const add = (...parts: TaskEstimate[]): TaskEstimate =>
  parts.reduce((a, b) => ({ calls: a.calls + b.calls, inputChars: a.inputChars + b.inputChars, outputTokens: a.outputTokens + b.outputTokens }), { calls: 0, inputChars: 0, outputTokens: 0 });
const times = (n: number, e: TaskEstimate): TaskEstimate => ({ calls: n * e.calls, inputChars: n * e.inputChars, outputTokens: n * e.outputTokens });

/** The faithfulness judge: the document and `pairs` question–answer pairs in, a verdict each out. */
const judge = (doc: number, pairs: number): TaskEstimate => ({ calls: 1, inputChars: PROMPT_CHARS + doc + pairs * (TOKENS.question + TOKENS.answer) * CHARS, outputTokens: pairs * TOKENS.verdict });

/** knowledge.qa over a context of `context` characters: questions, their answers, the judge. */
function qa(p: Record<string, unknown>, context: number, doc: number): TaskEstimate {
  const n = est.int(p.questions, 3);
  const seed = p.seed;
  const icl = est.chars(est.field(seed, 'icl_document')) + est.chars(est.field(seed, 'icl_query_1')) + est.chars(est.field(seed, 'icl_query_2')) + est.chars(est.field(seed, 'icl_query_3'));
  return add(
    { calls: 1, inputChars: PROMPT_CHARS + context + icl, outputTokens: n * TOKENS.question },
    { calls: 1, inputChars: PROMPT_CHARS + context + n * TOKENS.question * CHARS, outputTokens: n * TOKENS.answer },
    judge(doc, n),
  );
}

/** knowledge.fact_qa: pairs about one fact, then the judge when key facts are judged. */
function factQa(p: Record<string, unknown>, doc: number): TaskEstimate {
  const n = est.int(p.pairs_per_fact, 5);
  const pairs = { calls: 1, inputChars: PROMPT_CHARS + doc + (est.chars(p.fact) || TOKENS.fact * CHARS), outputTokens: n * (TOKENS.question + TOKENS.answer) };
  return p.judge_key_facts === true ? add(pairs, judge(doc, n)) : pairs;
}

const docOf = (p: Record<string, unknown>) => est.chars(est.field(p.seed, 'document'));

/** The first task of each flow and everything it spawns (knowledge.tasks.ts): summaries → qa each, key facts → fact_qa each. */
export const knowledgeEstimates: Record<string, TaskEstimator> = {
  'knowledge.summarize': (p) => {
    const n = est.int(p.summaries, 3);
    const calls = Math.ceil(n / Math.min(est.int(p.summaries_per_call, 1), n));
    const doc = docOf(p);
    return add({ calls, inputChars: calls * (PROMPT_CHARS + doc), outputTokens: n * TOKENS.summary }, times(n, qa(p, TOKENS.summary * CHARS, doc)));
  },
  'knowledge.qa': (p) => qa(p, est.chars(p.context) || docOf(p), docOf(p)),
  'knowledge.key_facts': (p) => {
    const n = est.int(p.facts, 10);
    const doc = docOf(p);
    return add({ calls: 1, inputChars: PROMPT_CHARS + doc, outputTokens: n * TOKENS.fact }, times(n, factQa(p, doc)));
  },
  'knowledge.fact_qa': (p) => factQa(p, docOf(p)),
};
