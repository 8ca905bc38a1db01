import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { Logger } from 'pino';
import type { ClaimedTask } from '../../db/queue.repository.js';
import { byLabel, itemLabels, labelledSchema, unlessSplit } from '../../src/llm/aligned.js';
import type { LlmClient } from '../../src/llm/llm.client.js';
import { LlmError } from '../../src/llm/llm.errors.js';
import type { Usage } from '../../src/llm/usage.js';
import { render, requirePrompt, type PromptTemplate } from '../../src/prompts.js';
import type { TaskResult } from '../../src/queue/task-handler.js';
import { defineTask, type TypedTask } from '../jobs/task-kind.js';
import { LlmSettings } from '../jobs/job-options.js';
import { KNOWLEDGE_FLOWS, SeedRecord } from './knowledge.spec.js';

/** Every knowledge task carries its seed and the flow's settings; later steps add the text they work on. */
export const KnowledgePayload = Type.Object({
  dataset_id: Type.String(),
  flow: Type.Union(KNOWLEDGE_FLOWS.map((f) => Type.Literal(f))),
  /** The flow's output dataset and the run's rejected set (unfaithful answers). */
  flow_dataset_id: Type.String(),
  rejected_dataset_id: Type.String(),
  seed: SeedRecord,
  llm: LlmSettings,
  summaries: Type.Integer({ minimum: 1 }),
  questions: Type.Integer({ minimum: 1 }),
  facts: Type.Integer({ minimum: 1 }),
  pairs_per_fact: Type.Integer({ minimum: 1 }),
  /** Summaries asked for per teacher call; what the judge checks; whether key-fact pairs are judged (absent on tasks queued before: 1, context, false). */
  summaries_per_call: Type.Optional(Type.Integer({ minimum: 1 })),
  judge_against: Type.Optional(Type.Union([Type.Literal('context'), Type.Literal('raw_document')])),
  judge_key_facts: Type.Optional(Type.Boolean()),
  /** knowledge.qa: the text the questions come from (a summary, or the document itself). */
  context: Type.Optional(Type.String()),
  /** knowledge.fact_qa */
  fact: Type.Optional(Type.String()),
  /**
   * knowledge.item: one question split out of a batch whose answer could not be used, with the key
   * its record would have had; `answer` is set when only the judge's batch failed.
   */
  item: Type.Optional(Type.Object({ key: Type.String(), question: Type.String(), answer: Type.Optional(Type.String()), extra: Type.Record(Type.String(), Type.Unknown()) })),
});
export type KnowledgePayload = Static<typeof KnowledgePayload>;

type Call = { task: ClaimedTask; llm: LlmClient; signal: AbortSignal; usage: Usage; log: Logger; p: KnowledgePayload };
type Pair = { question: string; answer: string; extra: Record<string, unknown> };
type Item = NonNullable<KnowledgePayload['item']>;
const cache = new Map<string, TSchema>();
const memo = <T extends TSchema>(key: string, make: () => T): T => (cache.get(key) ?? cache.set(key, make()).get(key)!) as T;
const strings = (name: string, min: number, max: number) => Type.Object({ [name]: Type.Array(Type.String({ minLength: 1 }), { minItems: min, maxItems: max }) });
/** One answer under its question's label (`q1`, …); one faithfulness verdict under its pair's label (`a1`, …). */
export const Answer = Type.Object({ answer: Type.String({ minLength: 1 }) });
export const Verdict = Type.Object({ faithful: Type.Boolean(), explanation: Type.String() });

/** The text the questions were asked about: the summary, or the document itself. */
const contextOf = (p: KnowledgePayload) => p.context ?? p.seed.document;
/** What the judge checks answers against: the question's context (sdg_hub), or the raw document. */
const judgedText = (p: KnowledgePayload) => (p.judge_against === 'raw_document' ? p.seed.document : contextOf(p));

/** The seed's columns every record carries, as sdg_hub writes them and Red Hat's Step 04 reads them ('' when the seed lacks one). */
const seedColumns = (seed: SeedRecord) => ({
  document_outline: seed.document_outline ?? '',
  domain: seed.domain ?? '',
  icl_document: seed.icl_document ?? '',
  icl_query_1: seed.icl_query_1 ?? '',
  icl_query_2: seed.icl_query_2 ?? '',
  icl_query_3: seed.icl_query_3 ?? '',
});

const seedVars = (seed: SeedRecord) => ({ domain: seed.domain ?? '(general)', outline: seed.document_outline ?? '(none)', document: seed.document });

function iclExamples(seed: SeedRecord): string {
  const queries = [seed.icl_query_1, seed.icl_query_2, seed.icl_query_3].filter((q): q is string => Boolean(q));
  if (!seed.icl_document || queries.length === 0) return '';
  return `\nExample text:\n${seed.icl_document}\nExample questions about it:\n${queries.map((q) => `- ${q}`).join('\n')}\n`;
}

/** Answers grounded in `context`, one under each question's label (`q1`, `q2`, …). */
async function answers(call: Call, prompt: PromptTemplate, context: string, questions: string[]): Promise<string[]> {
  const labels = itemLabels('q', questions.length);
  const { value } = await call.llm.structured({
    llm: call.p.llm, system: prompt.system, schemaName: 'answers', schema: labelledSchema(Answer, labels), signal: call.signal, usage: call.usage,
    prompt: render(prompt.user, { context, questions: questions.map((q, i) => `[${labels[i]}]\n${q}`).join('\n\n'), labels: labels.join(', ') }),
  });
  return byLabel(value, labels).map((a) => a.answer);
}

/** The faithfulness judge: each answer against the raw document, one verdict under each pair's label (`a1`, `a2`, …). */
async function verdicts(call: Call, prompt: PromptTemplate, pairs: Pair[]) {
  const labels = itemLabels('a', pairs.length);
  const { value } = await call.llm.structured({
    llm: call.p.llm, system: prompt.system, schemaName: 'faithfulness', schema: labelledSchema(Verdict, labels), signal: call.signal, usage: call.usage,
    prompt: render(prompt.user, { document: judgedText(call.p), pairs: pairs.map((q, i) => `[${labels[i]}]\nQuestion: ${q.question}\nAnswer: ${q.answer}`).join('\n\n'), labels: labels.join(', ') }),
  });
  return byLabel(value, labels);
}

/**
 * Faithful pairs go to the flow's dataset; the others to the rejected set, so a NO verdict really
 * drops a record but loses nothing. Unjudged pairs (key facts, by default) all go to the dataset.
 * Every record has sdg_hub's columns: `document` (the text the question was asked about),
 * `raw_document`, the seed's outline, domain and ICL fields, `question`, `response`.
 */
function judgedRecords(call: Call, keys: string[], pairs: Pair[], judged?: Array<{ faithful: boolean; explanation: string }>): TaskResult['records'] {
  const { p } = call;
  return pairs.map((q, i) => {
    const verdict = judged?.[i];
    const data = {
      ...q.extra,
      document: contextOf(p),
      raw_document: p.seed.document,
      ...seedColumns(p.seed),
      question: q.question,
      response: q.answer,
      ...(verdict ? { faithfulness_judgment: verdict.faithful ? 'YES' : 'NO', faithfulness_explanation: verdict.explanation } : {}),
    };
    return !verdict || verdict.faithful
      ? { key: keys[i], data, datasetId: p.flow_dataset_id }
      : { key: keys[i], data: { ...data, flow: p.flow, rejection: { reason: 'unfaithful' } }, datasetId: p.rejected_dataset_id };
  });
}

/** A batch whose answer could not be used goes on as one knowledge.item task per question. */
function split(call: Call, items: Item[]): TaskResult {
  const { task, p } = call;
  call.log.info({ taskId: task.id, runId: task.run_id, items: items.length }, 'batch answer unusable; going on one question at a time');
  return { datasetId: p.dataset_id, records: [], spawn: items.map((item, i) => itemTask.plan(`${task.key}/item${i + 1}`, { ...p, item }, task.max_attempts)) };
}

/** Judges the pairs (keyed `keys`) in one call, or splits them when the verdicts cannot be used. */
async function judgeOrSplit(call: Call, prompt: PromptTemplate, keys: string[], pairs: Pair[]): Promise<TaskResult> {
  const judged = await unlessSplit(pairs.length, verdicts(call, prompt, pairs));
  if (!judged) return split(call, pairs.map((pair, i) => ({ key: keys[i], ...pair })));
  return { datasetId: call.p.dataset_id, records: judgedRecords(call, keys, pairs, judged) };
}

/** Summary calls of one task in flight at once (the provider's own limit still applies across tasks). */
const SUMMARY_CALLS_AT_ONCE = 4;

/** N summaries of the document, `summaries_per_call` to a teacher call (a few calls side by side), each becoming its own knowledge.qa task. */
export const summarizeTask = defineTask('knowledge.summarize', KnowledgePayload, ({ prompts }) => {
  const summaryPrompts = { extractive_summary: requirePrompt(prompts, 'knowledge-summary-extractive'), detailed_summary: requirePrompt(prompts, 'knowledge-summary-detailed') };
  return async ({ task, llm, signal, usage, payload: p }) => {
    const prompt = summaryPrompts[p.flow === 'detailed_summary' ? 'detailed_summary' : 'extractive_summary'];
    const per = Math.min(p.summaries_per_call ?? 1, p.summaries);
    const sizes = Array.from({ length: Math.ceil(p.summaries / per) }, (_, i) => Math.min(per, p.summaries - i * per));
    const ask = async (n: number, i: number) => {
      const { value } = await llm.structured({
        llm: p.llm, system: prompt.system, schemaName: 'summaries', signal, usage,
        schema: memo(`summaries:${n}`, () => strings('summaries', n, n)),
        prompt: render(prompt.user, { ...seedVars(p.seed), n, part: i + 1, parts: sizes.length }),
      });
      return value.summaries as string[];
    };
    const summaries: string[] = [];
    for (let i = 0; i < sizes.length; i += SUMMARY_CALLS_AT_ONCE) {
      summaries.push(...(await Promise.all(sizes.slice(i, i + SUMMARY_CALLS_AT_ONCE).map((n, j) => ask(n, i + j)))).flat());
    }
    return { datasetId: p.dataset_id, records: [], spawn: summaries.map((context, j) => qaTask.plan(`${task.key}/sum${j + 1}`, { ...p, context })) };
  };
});

/** ICL-guided questions about a text, answers grounded in it, then the faithfulness judge. */
export const qaTask = defineTask('knowledge.qa', KnowledgePayload, ({ prompts }) => {
  const questions = requirePrompt(prompts, 'knowledge-questions');
  const answerPrompt = requirePrompt(prompts, 'knowledge-answers');
  const judgePrompt = requirePrompt(prompts, 'knowledge-faithfulness');
  return async ({ task, llm, signal, usage, log, payload: p }) => {
    const call = { task, llm, signal, usage, log, p };
    const context = contextOf(p);
    const asked = await llm.structured({
      llm: p.llm, system: questions.system, schemaName: 'questions', signal, usage,
      schema: memo(`questions:${p.questions}`, () => strings('questions', p.questions, p.questions)),
      prompt: render(questions.user, { domain: p.seed.domain ?? '(general)', examples: iclExamples(p.seed), context, n: p.questions }),
    });
    const qs = asked.value.questions as string[];
    const keys = qs.map((_, i) => `${task.key}#${i}`);
    const extra = p.flow === 'document_qa' ? {} : { summarized_document: context };
    const answered = await unlessSplit(qs.length, answers(call, answerPrompt, context, qs));
    if (!answered) return split(call, qs.map((question, i) => ({ key: keys[i], question, extra })));
    return judgeOrSplit(call, judgePrompt, keys, qs.map((question, i) => ({ question, answer: answered[i], extra })));
  };
});

/** Atomic key facts of the document, each becoming a knowledge.fact_qa task. */
export const keyFactsTask = defineTask('knowledge.key_facts', KnowledgePayload, ({ prompts }) => {
  const keyFacts = requirePrompt(prompts, 'knowledge-key-facts');
  return async ({ task, llm, signal, usage, payload: p }) => {
    const { value } = await llm.structured({
      llm: p.llm, system: keyFacts.system, schemaName: 'key_facts', signal, usage,
      schema: memo(`facts:${p.facts}`, () => strings('facts', 1, p.facts)),
      prompt: render(keyFacts.user, { ...seedVars(p.seed), n: p.facts }),
    });
    const list = (value.facts as string[]).slice(0, p.facts);
    return { datasetId: p.dataset_id, records: [], spawn: list.map((fact, j) => factQaTask.plan(`${task.key}/fact${j + 1}`, { ...p, fact })) };
  };
});

/** Q&A pairs about one key fact, judged for faithfulness against the document. */
export const factQaTask = defineTask('knowledge.fact_qa', KnowledgePayload, ({ prompts }) => {
  const factQa = requirePrompt(prompts, 'knowledge-fact-qa');
  const judgePrompt = requirePrompt(prompts, 'knowledge-faithfulness');
  return async ({ task, llm, signal, usage, log, payload: p }) => {
    const n = p.pairs_per_fact;
    const { value } = await llm.structured({
      llm: p.llm, system: factQa.system, schemaName: 'fact_pairs', signal, usage,
      schema: memo(`factqa:${n}`, () => Type.Object({ pairs: Type.Array(Type.Object({ question: Type.String({ minLength: 4 }), answer: Type.String({ minLength: 1 }) }), { minItems: n, maxItems: n }) })),
      prompt: render(factQa.user, { fact: p.fact ?? '', document: p.seed.document, n }),
    });
    const pairs = (value.pairs as Array<{ question: string; answer: string }>).map((q) => ({ ...q, extra: { key_fact: p.fact } }));
    if (!p.judge_key_facts) return { datasetId: p.dataset_id, records: judgedRecords({ task, llm, signal, usage, log, p }, pairs.map((_, i) => `${task.key}#${i}`), pairs) };
    return judgeOrSplit({ task, llm, signal, usage, log, p }, judgePrompt, pairs.map((_, i) => `${task.key}#${i}`), pairs);
  };
});

/**
 * One question split out of a batch (answers or verdicts that could not be used): answered alone
 * unless its answer is known, then judged alone. A question that still fails is a failed task of
 * its own; its record keeps the key it would have had in the batch.
 */
export const itemTask: TypedTask<typeof KnowledgePayload> = defineTask('knowledge.item', KnowledgePayload, ({ prompts }) => {
  const answerPrompt = requirePrompt(prompts, 'knowledge-answers');
  const judgePrompt = requirePrompt(prompts, 'knowledge-faithfulness');
  return async ({ task, llm, signal, usage, log, payload: p }) => {
    if (!p.item) throw new LlmError('api', `task knowledge.item ${task.key} has no item`);
    const call = { task, llm, signal, usage, log, p };
    const answer = p.item.answer ?? (await answers(call, answerPrompt, contextOf(p), [p.item.question]))[0];
    const pair = { question: p.item.question, answer, extra: p.item.extra };
    return { datasetId: p.dataset_id, records: judgedRecords(call, [p.item.key], [pair], await verdicts(call, judgePrompt, [pair])) };
  };
});

export const knowledgeTasks = [summarizeTask, qaTask, keyFactsTask, factQaTask, itemTask];
