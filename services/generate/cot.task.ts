import { Type } from '@sinclair/typebox';
import { render, requirePrompt } from '../../src/prompts.js';
import { filterByTopic } from './topic-filter.js';
import { chunkContext, passageVars } from './prompt-vars.js';
import { defineTask } from '../jobs/task-kind.js';
import { GenerateTaskPayload } from './task-payload.js';

const Example = Type.Object({
  question: Type.String({ minLength: 8 }),
  reasoning: Type.Array(Type.String({ minLength: 1 }), { minItems: 2, maxItems: 5, description: 'Ordered steps, each building on the one before' }),
  answer: Type.String({ minLength: 1, description: 'The conclusion the steps support (1–2 sentences)' }),
});
const makeSchema = (n: number) => Type.Object({ items: Type.Array(Example, { minItems: n, maxItems: n }) });
const schemas = new Map<number, ReturnType<typeof makeSchema>>();
const cotSchema = (n: number) => schemas.get(n) ?? schemas.set(n, makeSchema(n)).get(n)!;

/** Records `{ question, reasoning: [steps], answer, chunk_id, source, model }`. */
export const cotTask = defineTask('generate.cot', GenerateTaskPayload, ({ prompts }) => {
  const prompt = requirePrompt(prompts, 'cot-generation');
  const topicPrompt = requirePrompt(prompts, 'topic-judge');
  return async ({ task, llm, signal, usage, log, payload: p }) => {
    const { value, model } = await llm.structured({
      llm: p.llm,
      system: p.system_prompt ?? prompt.system,
      prompt: render(prompt.user, { ...passageVars(p.chunk, p), n: p.pairs }),
      schema: cotSchema(p.pairs),
      schemaName: 'cot_examples',
      signal,
      usage,
    });
    const records = value.items.map((item, i) => ({
      key: `${task.key}#${i}`,
      data: {
        question: item.question.trim(),
        reasoning: item.reasoning.map((s) => s.trim()),
        answer: item.answer.trim(),
        chunk_id: p.chunk.chunk_id,
        source: p.chunk.source,
        model,
        ...chunkContext(p.chunk, i),
      },
    }));
    if (!p.topic || !p.rejected_dataset_id) return { datasetId: p.dataset_id, records };
    const call = { task, llm, llmSettings: p.llm, signal, usage, log, prompt: topicPrompt, datasetId: p.dataset_id };
    return { datasetId: p.dataset_id, ...(await filterByTopic(call, p.topic, p.rejected_dataset_id, records)) };
  };
});
