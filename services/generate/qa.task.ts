import { Type } from '@sinclair/typebox';
import { render, requirePrompt } from '../../src/prompts.js';
import { filterByTopic } from './topic-filter.js';
import { chunkContext, passageVars } from './prompt-vars.js';
import { defineTask } from '../jobs/task-kind.js';
import { GenerateTaskPayload } from './task-payload.js';

const Pair = Type.Object({
  question: Type.String({ minLength: 8, description: 'A self-contained question answered by the passage' }),
  answer: Type.String({ minLength: 1, description: 'The answer, grounded in the passage' }),
});

const makePairsSchema = (n: number) => Type.Object({ pairs: Type.Array(Pair, { minItems: n, maxItems: n }) });
const schemas = new Map<number, ReturnType<typeof makePairsSchema>>();

/** The answer schema asks for exactly n pairs; memoised so the compiled validator is reused. */
export function pairsSchema(n: number) {
  let schema = schemas.get(n);
  if (!schema) schemas.set(n, (schema = makePairsSchema(n)));
  return schema;
}

export const qaTask = defineTask('generate.qa', GenerateTaskPayload, ({ prompts }) => {
  const textPrompt = requirePrompt(prompts, 'qa-generation');
  const codePrompt = requirePrompt(prompts, 'code-qa-generation');
  const topicPrompt = requirePrompt(prompts, 'topic-judge');
  return async ({ task, llm, signal, usage, log, payload: p }) => {
    const prompt = p.chunk.code ? codePrompt : textPrompt;
    const { value, model } = await llm.structured({
      llm: p.llm,
      system: p.system_prompt ?? prompt.system,
      prompt: render(prompt.user, { ...passageVars(p.chunk, p), n: p.pairs }),
      schema: pairsSchema(p.pairs),
      schemaName: 'qa_pairs',
      signal,
      usage,
    });
    const records = value.pairs.map((pair, i) => ({
      key: `${task.key}#${i}`,
      data: { question: pair.question.trim(), answer: pair.answer.trim(), chunk_id: p.chunk.chunk_id, source: p.chunk.source, model, ...chunkContext(p.chunk, i) },
    }));
    if (!p.topic || !p.rejected_dataset_id) return { datasetId: p.dataset_id, records };
    const call = { task, llm, llmSettings: p.llm, signal, usage, log, prompt: topicPrompt, datasetId: p.dataset_id };
    return { datasetId: p.dataset_id, ...(await filterByTopic(call, p.topic, p.rejected_dataset_id, records)) };
  };
});
