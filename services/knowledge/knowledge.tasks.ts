import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { Usage } from '../../src/llm/usage.js';
import { itemLabels, misaligned } from '../../src/llm/aligned.js';
import type { LlmClient } from '../../src/llm/llm.client.js';
import { render, requirePrompt, type PromptTemplate } from '../../src/prompts.js';
import type { TaskResult } from '../../src/queue/task-handler.js';
import { defineTask } from '../jobs/task-kind.js';
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
  /** knowledge.qa: the text the questions come from (a summary, or the document itself). */
  context: Type.Optional(Type.String()),
  /** knowledge.fact_qa */
  fact: Type.Optional(Type.String()),
});
export type KnowledgePayload = Static<typeof KnowledgePayload>;

type Call = { llm: LlmClient; signal: AbortSignal; usage: Usage; p: KnowledgePayload };
const cache = new Map<string, TSchema>();
const memo = <T extends TSchema>(key: string, make: () => T): T => (cache.get(key) ?? cache.set(key, make()).get(key)!) as T;
const strings = (name: string, min: number, max: number) => Type.Object({ [name]: Type.Array(Type.String({ minLength: 1 }), { minItems: min, maxItems: max }) });

const seedVars = (seed: SeedRecord) => ({ domain: seed.domain ?? '(general)', outline: seed.document_outline ?? '(none)', document: seed.document });

function iclExamples(seed: SeedRecord): string {
  const queries = [seed.icl_query_1, seed.icl_query_2, seed.icl_query_3].filter((q): q is string => Boolean(q));
  if (!seed.icl_document || queries.length === 0) return '';
  return `\nExample text:\n${seed.icl_document}\nExample questions about it:\n${queries.map((q) => `- ${q}`).join('\n')}\n`;
}

/**
 * The faithfulness judge: each answer against the raw document. Faithful pairs go to the flow's
 * dataset; the others to the rejected set, so a NO verdict really drops a record but loses nothing.
 */
async function judged(
  call: Call,
  prompts: Map<string, PromptTemplate>,
  taskKey: string,
  pairs: Array<{ question: string; answer: string; extra: Record<string, unknown> }>,
): Promise<TaskResult['records']> {
  const prompt = requirePrompt(prompts, 'knowledge-faithfulness');
  const expected = itemLabels('a', pairs.length);
  const schema = memo(`faith:${pairs.length}`, () =>
    Type.Object({ items: Type.Array(Type.Object({ id: Type.String(), faithful: Type.Boolean(), explanation: Type.String() }), { minItems: pairs.length, maxItems: pairs.length }) }),
  );
  const { value } = await call.llm.structured({
    llm: call.p.llm, system: prompt.system, schemaName: 'faithfulness', schema, signal: call.signal, usage: call.usage,
    prompt: render(prompt.user, { document: call.p.seed.document, pairs: pairs.map((q, i) => `[${expected[i]}]\nQuestion: ${q.question}\nAnswer: ${q.answer}`).join('\n\n') }),
    check: (v) => misaligned(v.items, expected),
  });
  return pairs.map((q, i) => {
    const verdict = value.items[i] as { faithful: boolean; explanation: string };
    const data = {
      ...q.extra,
      question: q.question,
      response: q.answer,
      raw_document: call.p.seed.document,
      ...(call.p.seed.domain ? { domain: call.p.seed.domain } : {}),
      faithfulness_judgment: verdict.faithful ? 'YES' : 'NO',
      faithfulness_explanation: verdict.explanation,
    };
    return verdict.faithful
      ? { key: `${taskKey}#${i}`, data, datasetId: call.p.flow_dataset_id }
      : { key: `${taskKey}#${i}`, data: { ...data, flow: call.p.flow, rejection: { reason: 'unfaithful' } }, datasetId: call.p.rejected_dataset_id };
  });
}

/** N summaries of the document, each becoming its own knowledge.qa task. */
export const summarizeTask = defineTask('knowledge.summarize', KnowledgePayload, ({ prompts }) => {
  const summaryPrompts = { extractive_summary: requirePrompt(prompts, 'knowledge-summary-extractive'), detailed_summary: requirePrompt(prompts, 'knowledge-summary-detailed') };
  return async ({ task, llm, signal, usage, payload: p }) => {
    const prompt = summaryPrompts[p.flow === 'detailed_summary' ? 'detailed_summary' : 'extractive_summary'];
    const { value } = await llm.structured({
      llm: p.llm, system: prompt.system, schemaName: 'summaries', signal, usage,
      schema: memo(`summaries:${p.summaries}`, () => strings('summaries', p.summaries, p.summaries)),
      prompt: render(prompt.user, { ...seedVars(p.seed), n: p.summaries }),
    });
    const summaries = value.summaries as string[];
    return { datasetId: p.dataset_id, records: [], spawn: summaries.map((context, j) => qaTask.plan(`${task.key}/sum${j + 1}`, { ...p, context })) };
  };
});

/** ICL-guided questions about a text, answers grounded in it, then the faithfulness judge. */
export const qaTask = defineTask('knowledge.qa', KnowledgePayload, ({ prompts }) => {
  const questions = requirePrompt(prompts, 'knowledge-questions');
  const answers = requirePrompt(prompts, 'knowledge-answers');
  return async ({ task, llm, signal, usage, payload: p }) => {
    const context = p.context ?? p.seed.document;
    const asked = await llm.structured({
      llm: p.llm, system: questions.system, schemaName: 'questions', signal, usage,
      schema: memo(`questions:${p.questions}`, () => strings('questions', p.questions, p.questions)),
      prompt: render(questions.user, { domain: p.seed.domain ?? '(general)', examples: iclExamples(p.seed), context, n: p.questions }),
    });
    const qs = asked.value.questions as string[];
    const expected = itemLabels('q', qs.length);
    const answered = await llm.structured({
      llm: p.llm, system: answers.system, schemaName: 'answers', signal, usage,
      schema: memo(`answers:${qs.length}`, () => Type.Object({ items: Type.Array(Type.Object({ id: Type.String(), answer: Type.String({ minLength: 1 }) }), { minItems: qs.length, maxItems: qs.length }) })),
      prompt: render(answers.user, { context, questions: qs.map((q, i) => `[${expected[i]}]\n${q}`).join('\n\n') }),
      check: (v) => misaligned(v.items, expected),
    });
    const extra = p.flow === 'document_qa' ? {} : { summarized_document: context };
    const pairs = qs.map((question, i) => ({ question, answer: (answered.value.items[i] as { answer: string }).answer, extra }));
    return { datasetId: p.dataset_id, records: await judged({ llm, signal, usage, p }, prompts, task.key, pairs) };
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
  return async ({ task, llm, signal, usage, payload: p }) => {
    const n = p.pairs_per_fact;
    const { value } = await llm.structured({
      llm: p.llm, system: factQa.system, schemaName: 'fact_pairs', signal, usage,
      schema: memo(`factqa:${n}`, () => Type.Object({ pairs: Type.Array(Type.Object({ question: Type.String({ minLength: 4 }), answer: Type.String({ minLength: 1 }) }), { minItems: n, maxItems: n }) })),
      prompt: render(factQa.user, { fact: p.fact ?? '', document: p.seed.document, n }),
    });
    const pairs = (value.pairs as Array<{ question: string; answer: string }>).map((q) => ({ ...q, extra: { key_fact: p.fact } }));
    return { datasetId: p.dataset_id, records: await judged({ llm, signal, usage, p }, prompts, task.key, pairs) };
  };
});

export const knowledgeTasks = [summarizeTask, qaTask, keyFactsTask, factQaTask];
