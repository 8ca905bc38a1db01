import { Type, type Static } from '@sinclair/typebox';
import { byLabel, itemLabels, labelledSchema, unlessSplit } from '../../src/llm/aligned.js';
import { render, requirePrompt } from '../../src/prompts.js';
import { LlmSettings } from '../jobs/job-options.js';
import { defineTask, type TypedTask } from '../jobs/task-kind.js';
import { judgeText } from './record-text.js';
import { Rec, recordsOf, StoredRecords } from './curate-records.js';
import { generatorFields } from './generator-fields.js';


/** curate.judge: a batch of records for the judge. */
export const CurateJudgePayload = Type.Object({
  dataset_id: Type.String(),
  rejected_dataset_id: Type.String(),
  threshold: Type.Number(),
  topic: Type.Optional(Type.String()),
  llm: LlmSettings,
  system_prompt: Type.Optional(Type.String()),
  /** The batch: carried, or read by id when the task runs (semantic dedup's survivors). */
  records: Type.Optional(Type.Array(Rec)),
  from: Type.Optional(StoredRecords),
});

/** curate.pass: records decided without a teacher. */
export const CuratePassPayload = Type.Object({
  dataset_id: Type.String(),
  /** Where these records go: the kept dataset (no judging) or the rejected one (duplicates). */
  target_dataset_id: Type.Optional(Type.String()),
  records: Type.Optional(Type.Array(Rec)),
  from: Type.Optional(StoredRecords),
});

const scoreFields = {
  clarity: Type.Integer({ minimum: 0, maximum: 3 }),
  accuracy: Type.Integer({ minimum: 0, maximum: 3 }),
  usefulness: Type.Integer({ minimum: 0, maximum: 2 }),
  difficulty: Type.Integer({ minimum: 0, maximum: 2 }),
};
/** The judge's scores for one example, under the example's label (`e1`, …). */
export const Score = Type.Object({ ...scoreFields, reasoning: Type.String() });
export const TopicScore = Type.Object({ ...scoreFields, topic_relevant: Type.Boolean(), reasoning: Type.String() });
type Scored = Static<typeof Score> & { topic_relevant?: boolean };

/**
 * Judges a batch. The rating is the sum of the rubric scores (computed here, not trusted from the
 * teacher); kept records go to the run's dataset with their `curation`, rejected ones to the
 * rejected dataset with the reason, so nothing judged is lost. Scores come under each example's
 * label (`e1`, `e2`, …), enforced by the schema; a batch whose answer still cannot be used is split
 * into batches of one, so a stubborn example fails alone.
 */
export const curateJudgeTask: TypedTask<typeof CurateJudgePayload> = defineTask('curate.judge', CurateJudgePayload, ({ prompts, database }) => {
  const prompt = requirePrompt(prompts, 'curate-judge');
  return async ({ task, llm, signal, usage, log, payload: p }) => {
    const records = await recordsOf(database.db, p);
    const labels = itemLabels('e', records.length);
    const examples = records.map((r, i) => `[${labels[i]}]\n${judgeText(r.data)}`).join('\n\n');
    const answer = await unlessSplit(
      records.length,
      llm.structured({
        llm: p.llm,
        system: p.system_prompt ?? prompt.system,
        prompt: render(prompt.user, {
          n: records.length,
          examples,
          labels: labels.join(', '),
          topic_instruction: p.topic ? `\nAlso judge whether each example is about this topic: "${p.topic}" (topic_relevant).` : '',
          topic_field: p.topic ? ' "topic_relevant": true|false,' : '',
        }),
        schema: labelledSchema(p.topic ? TopicScore : Score, labels),
        schemaName: 'scores',
        signal,
        usage,
      }),
    );
    if (!answer) {
      log.info({ taskId: task.id, runId: task.run_id, items: records.length }, 'batch answer unusable; judging its examples one by one');
      const one = (i: number) => (p.from ? { from: { dataset_id: p.from.dataset_id, ids: [p.from.ids[i]] } } : { records: [records[i]] });
      return { datasetId: p.dataset_id, records: [], spawn: records.map((_, i) => curateJudgeTask.plan(`${task.key}/${i + 1}`, { ...p, records: undefined, from: undefined, ...one(i) }, task.max_attempts)) };
    }
    const scores: Scored[] = byLabel(answer.value, labels);
    const model = answer.model;
    return {
      datasetId: p.dataset_id,
      records: records.map((r, i) => {
        const s = scores[i];
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
        const flat = generatorFields(r.data, curation);
        return rejection
          ? { key: r.key, data: { ...r.data, ...flat, curation, rejection }, datasetId: p.rejected_dataset_id }
          : { key: r.key, data: { ...r.data, ...flat, curation } };
      }),
    };
  };
});

/** Writes records decided without a teacher: duplicates into the rejected set, or keeps when judging is off. */
export const curatePassTask = defineTask('curate.pass', CuratePassPayload, ({ database }) => async ({ payload: p }) => ({
  datasetId: p.dataset_id,
  records: (await recordsOf(database.db, p)).map((r) => ({ ...r, datasetId: p.target_dataset_id })),
}));
