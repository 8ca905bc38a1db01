import { Type, type TSchema } from '@sinclair/typebox';
import { render, requirePrompt } from '../../src/prompts.js';
import { passageVars } from './prompt-vars.js';
import { defineTask } from '../jobs/task-kind.js';
import { GenerateTaskPayload } from './task-payload.js';

const Turn = Type.Object({ question: Type.String({ minLength: 4 }), answer: Type.String({ minLength: 1 }) });
const QuestionTurn = Type.Object({ question: Type.String({ minLength: 4 }) });
const schemas = new Map<string, TSchema>();

function conversationSchema(turns: number, answers: boolean) {
  const key = `${turns}:${answers}`;
  if (!schemas.has(key)) schemas.set(key, Type.Object({ turns: Type.Array(answers ? Turn : QuestionTurn, { minItems: turns, maxItems: turns }) }));
  return schemas.get(key)! as ReturnType<typeof Type.Object<{ turns: ReturnType<typeof Type.Array<typeof Turn>> }>>;
}

/**
 * One conversation per chunk. Each turn gets a `qa_id` (`{chunk}_t{n}`) and `builds_on` the turn
 * before it, as Fair-Forge links them; with answers, the record also carries chat `messages`.
 */
export const conversationTask = defineTask('generate.conversation', GenerateTaskPayload, ({ prompts }) => {
  const prompt = requirePrompt(prompts, 'conversation-generation');
  return async ({ task, llm, signal, usage, payload: p }) => {
    const turns = p.turns ?? 3;
    const answers = p.answers !== false;
    const turnShape = answers
      ? 'Return JSON: {"turns": [{"question": "...", "answer": "..."}]} with the user\'s question and the assistant\'s grounded answer for each turn.'
      : 'Write only the user\'s questions (this is an evaluation set; the assistant\'s answers are not needed). Return JSON: {"turns": [{"question": "..."}]}.';
    const { value, model } = await llm.structured({
      llm: p.llm,
      system: p.system_prompt ?? prompt.system,
      prompt: render(prompt.user, { ...passageVars(p.chunk, p), turns, turn_shape: turnShape }),
      schema: conversationSchema(turns, answers),
      schemaName: 'conversation',
      signal,
      usage,
    });
    const linked = value.turns.map((t, i) => ({
      qa_id: `${p.chunk.chunk_id}_t${i + 1}`,
      turn_number: i + 1,
      query: t.question.trim(),
      ...(answers ? { answer: t.answer.trim() } : {}),
      builds_on: i === 0 ? null : `${p.chunk.chunk_id}_t${i}`,
    }));
    const messages = answers ? linked.flatMap((t) => [{ role: 'user', content: t.query }, { role: 'assistant', content: t.answer! }]) : undefined;
    return {
      datasetId: p.dataset_id,
      records: [
        {
          key: `${task.key}#0`,
          data: { ...(messages ? { messages } : {}), turns: linked, context: p.chunk.content, chunk_id: p.chunk.chunk_id, source: p.chunk.source, model },
        },
      ],
    };
  };
});
