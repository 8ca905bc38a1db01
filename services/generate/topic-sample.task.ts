import { Type, type TSchema } from '@sinclair/typebox';
import { render, requirePrompt } from '../../src/prompts.js';
import { defineTask } from '../jobs/task-kind.js';
import { TopicSamplePayload } from './task-payload.js';

const Step = Type.Object({ step_number: Type.Integer({ minimum: 1 }), thought: Type.String({ minLength: 1 }), action: Type.String() });
const cache = new Map<string, TSchema>();
function schemaFor(p: TopicSamplePayload): TSchema {
  const reasoning = p.task === 'cot' || (p.task === 'conversation' && p.conversation.type === 'cot');
  const structured = reasoning && p.conversation.reasoning_style === 'structured';
  const key = `${p.task}:${p.turns}:${reasoning}:${structured}`;
  if (!cache.has(key)) {
    const why: Record<string, TSchema> = structured ? { reasoning: Type.Array(Step, { minItems: 2, maxItems: 8 }) } : reasoning ? { reasoning: Type.String({ minLength: 1 }) } : {};
    cache.set(
      key,
      p.task === 'conversation'
        ? Type.Object({ turns: Type.Array(Type.Object({ user: Type.String({ minLength: 1 }), assistant: Type.String({ minLength: 1 }) }), { minItems: p.turns, maxItems: p.turns }), ...why })
        : Type.Object({ question: Type.String({ minLength: 4 }), answer: Type.String({ minLength: 1 }), ...why }),
    );
  }
  return cache.get(key)!;
}

function shapeOf(p: TopicSamplePayload): string {
  const reasoning = p.task === 'cot' || (p.task === 'conversation' && p.conversation.type === 'cot');
  const why = !reasoning ? '' : p.conversation.reasoning_style === 'structured'
    ? ' Include "reasoning": the steps that lead to the (last) answer, as [{"step_number": 1, "thought": "...", "action": "..."}].'
    : ' Include "reasoning": the thinking that leads to the (last) answer, as free text.';
  return p.task === 'conversation'
    ? `Write a conversation of ${p.turns} exchange(s), each building on the one before. Return JSON: {"turns": [{"user": "...", "assistant": "..."}]}.${why}`
    : `Write one question about the topic and its answer. Return JSON: {"question": "...", "answer": "..."}.${why}`;
}

/** One sample per task: `{ messages, topic_path, reasoning? }` for conversations, `{ question, answer, topic_path, reasoning? }` otherwise. */
export const topicSampleTask = defineTask('generate.topic_sample', TopicSamplePayload, ({ prompts }) => {
  const prompt = requirePrompt(prompts, 'topic-sample');
  return async ({ task, llm, signal, usage, payload: p }) => {
    const system = p.system_prompt ?? prompt.system;
    // The dataset's own system message; the teacher's instruction only stands in for it when asked
    // for without one (DeepFabric's fallback), and Quarry's built-in instruction never does.
    const message = p.dataset_system_prompt ?? p.system_prompt;
    const { value, model } = await llm.structured({
      llm: p.llm, system, schemaName: 'sample', schema: schemaFor(p), signal, usage,
      prompt: render(prompt.user, {
        topic_path: p.topic_path.join(' → '),
        instructions: p.instructions ? `\nInstructions: ${p.instructions}\n` : '',
        variant: p.cycle + 1,
        shape: shapeOf(p),
      }),
    });
    const v = value as { turns?: Array<{ user: string; assistant: string }>; question?: string; answer?: string; reasoning?: unknown };
    const reasoning =
      v.reasoning === undefined ? undefined : { style: typeof v.reasoning === 'string' ? 'freetext' : 'structured', content: v.reasoning };
    const data =
      p.task === 'conversation'
        ? {
            messages: [
              ...(p.include_system_message && message ? [{ role: 'system', content: message }] : []),
              ...v.turns!.flatMap((t) => [{ role: 'user', content: t.user.trim() }, { role: 'assistant', content: t.assistant.trim() }]),
            ],
            topic_path: p.topic_path,
            ...(reasoning ? { reasoning } : {}),
            model,
          }
        : {
            question: v.question!.trim(),
            // Pair records keep reasoning in the shape the exports read: text, or the steps' thoughts in order.
            ...(reasoning ? { reasoning: typeof v.reasoning === 'string' ? v.reasoning : (v.reasoning as Array<{ thought: string }>).map((s) => s.thought) } : {}),
            answer: v.answer!.trim(),
            topic_path: p.topic_path,
            model,
          };
    return { datasetId: p.dataset_id, records: [{ key: `${task.key}#0`, data }] };
  };
});
