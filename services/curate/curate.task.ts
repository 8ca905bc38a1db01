import { Type, type TSchema } from '@sinclair/typebox';
import { itemLabels, misaligned } from '../../src/llm/aligned.js';
import { render, requirePrompt } from '../../src/prompts.js';
import { LlmSettings } from '../jobs/job-options.js';
import { defineTask } from '../jobs/task-kind.js';
import { judgeText } from './record-text.js';

const Rec = Type.Object({ key: Type.String(), data: Type.Record(Type.String(), Type.Unknown()) });

/** curate.judge: a batch of records for the judge. */
export const CurateJudgePayload = Type.Object({
  dataset_id: Type.String(),
  rejected_dataset_id: Type.String(),
  threshold: Type.Number(),
  topic: Type.Optional(Type.String()),
  llm: LlmSettings,
  system_prompt: Type.Optional(Type.String()),
  records: Type.Array(Rec),
});

/** curate.pass: records decided without a teacher. */
export const CuratePassPayload = Type.Object({
  dataset_id: Type.String(),
  /** Where these records go: the kept dataset (no judging) or the rejected one (duplicates). */
  target_dataset_id: Type.Optional(Type.String()),
  records: Type.Array(Rec),
});

const scoreFields = {
  id: Type.String(),
  clarity: Type.Integer({ minimum: 0, maximum: 3 }),
  accuracy: Type.Integer({ minimum: 0, maximum: 3 }),
  usefulness: Type.Integer({ minimum: 0, maximum: 2 }),
  difficulty: Type.Integer({ minimum: 0, maximum: 2 }),
};
const Score = Type.Object({ ...scoreFields, reasoning: Type.String() });
const TopicScore = Type.Object({ ...scoreFields, topic_relevant: Type.Boolean(), reasoning: Type.String() });
type Scored = { id: string; clarity: number; accuracy: number; usefulness: number; difficulty: number; topic_relevant?: boolean; reasoning: string };

const schemas = new Map<string, TSchema>();
function scoresSchema(n: number, topic: boolean) {
  const key = `${n}:${topic}`;
  if (!schemas.has(key)) schemas.set(key, Type.Object({ items: Type.Array(topic ? TopicScore : Score, { minItems: n, maxItems: n }) }));
  return schemas.get(key) as ReturnType<typeof Type.Object<{ items: ReturnType<typeof Type.Array<typeof TopicScore>> }>>;
}


/**
 * Judges a batch. The rating is the sum of the rubric scores (computed here, not trusted from the
 * teacher); kept records go to the run's dataset with their `curation`, rejected ones to the
 * rejected dataset with the reason, so nothing judged is lost.
 */
export const curateJudgeTask = defineTask('curate.judge', CurateJudgePayload, ({ prompts }) => {
  const prompt = requirePrompt(prompts, 'curate-judge');
  return async ({ llm, signal, usage, payload: p }) => {
    const examples = p.records.map((r, i) => `[e${i + 1}]\n${judgeText(r.data)}`).join('\n\n');
    const { value, model } = await llm.structured({
      llm: p.llm,
      system: p.system_prompt ?? prompt.system,
      prompt: render(prompt.user, {
        n: p.records.length,
        examples,
        topic_instruction: p.topic ? `\nAlso judge whether each example is about this topic: "${p.topic}" (topic_relevant).` : '',
        topic_field: p.topic ? ' "topic_relevant": true|false,' : '',
      }),
      schema: scoresSchema(p.records.length, Boolean(p.topic)),
      schemaName: 'scores',
      signal,
      usage,
      check: (v) => misaligned(v.items, itemLabels('e', p.records.length)),
    });
    return {
      datasetId: p.dataset_id,
      records: p.records.map((r, i) => {
        const s = value.items[i] as Scored;
        const rating = s.clarity + s.accuracy + s.usefulness + s.difficulty;
        const curation = {
          rating,
          clarity: s.clarity,
          accuracy: s.accuracy,
          usefulness: s.usefulness,
          difficulty: s.difficulty,
          ...(p.topic ? { topic_relevant: s.topic_relevant } : {}),
          reasoning: s.reasoning,
          judge_model: model,
        };
        const rejection =
          rating < p.threshold
            ? { reason: 'below_threshold', detail: `rating ${rating} < threshold ${p.threshold}` }
            : p.topic && s.topic_relevant === false
              ? { reason: 'off_topic', detail: `not about "${p.topic}"` }
              : undefined;
        return rejection
          ? { key: r.key, data: { ...r.data, curation, rejection }, datasetId: p.rejected_dataset_id }
          : { key: r.key, data: { ...r.data, curation } };
      }),
    };
  };
});

/** Writes records decided without a teacher: duplicates into the rejected set, or keeps when judging is off. */
export const curatePassTask = defineTask('curate.pass', CuratePassPayload, () => async ({ payload: p }) => ({
  datasetId: p.dataset_id,
  records: p.records.map((r) => ({ ...r, datasetId: p.target_dataset_id })),
}));
