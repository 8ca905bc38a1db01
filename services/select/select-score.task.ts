import { recordsByIds } from '../../db/select.repository.js';
import { LlmError } from '../../src/llm/llm.errors.js';
import { byLabel, itemLabels, labelledSchema, unlessSplit } from '../../src/llm/aligned.js';
import { render, requirePrompt } from '../../src/prompts.js';
import { judgeable, judgeText } from '../curate/record-text.js';
import { embeddingText } from '../embeddings/embedding-text.js';
import { defineTask, type TypedTask } from '../jobs/task-kind.js';
import { beginTask, finishTask } from './select-finish.task.js';
import { SCORE_KIND, ScorePayload } from './select.payloads.js';
import { fromTeacher, TeacherScore, type StagedScore } from './select-scores.js';
import { isRecord } from '../../src/plain-object.js';

type Rec = { key: string; data: Record<string, unknown> };

/** The record as the teacher reads it: as the curate judge does for QA, CoT and chats, else its embedding text. */
export const scoreText = (data: Record<string, unknown>) => (judgeable(data) ? judgeText(data) : embeddingText(data));

/**
 * Scores a batch (DEITA's complexity and quality scorers in one teacher call, each record under its
 * label, integer ranges forced by the schema) and copies the records with their scores into the
 * run's scored dataset, so the scores outlive a crash and the finisher reads them a page at a time.
 * Without `judge` it only copies (inline records the embed tasks must find in a dataset). An
 * unusable batch answer splits the batch into single records; a teacher error is a retry of the
 * task, and no record is kept without its scores. Each batch done queues the next check.
 */
export const selectScoreTask: TypedTask<typeof ScorePayload> = defineTask(SCORE_KIND, ScorePayload, ({ prompts, database }) => {
  const prompt = requirePrompt(prompts, 'select-score');
  return async ({ task, llm, signal, usage, log, payload: p }) => {
    const records: Rec[] = p.records ?? [];
    if (p.source_dataset_id && p.ids) {
      // In the planner's (canonical) order, not by id: the same records make the same prompt whatever order they were imported in.
      const byId = new Map((await recordsByIds(database.db, p.source_dataset_id, p.ids)).map((r) => [r.id, r]));
      for (const id of p.ids) {
        const r = byId.get(id);
        if (r && isRecord(r.data)) records.push({ key: r.key, data: r.data });
      }
    }
    const expected = (p.records?.length ?? 0) + (p.ids?.length ?? 0);
    if (records.length !== expected) throw new LlmError('api', `${SCORE_KIND} ${task.key}: ${expected - records.length} of its records are gone from ${p.source_dataset_id}`, { fatal: true });
    const check = p.then.kind === 'finish' ? finishTask.plan(`${finishTask.kind}/${task.key}`, p.then.payload) : beginTask.plan(`${beginTask.kind}/${task.key}`, p.then.payload);
    const write = (scores?: StagedScore[]) => ({
      datasetId: p.dataset_id,
      spawn: [check],
      records: records.map((r, i) => ({ key: r.key, data: scores ? { ...r.data, multi_score: scores[i] } : r.data, datasetId: p.staged_dataset_id })),
    });
    if (!p.judge) return write();
    const labels = itemLabels('e', records.length);
    const answer = await unlessSplit(
      records.length,
      llm.structured({
        llm: p.judge.llm,
        system: p.judge.system_prompt ?? prompt.system,
        prompt: render(prompt.user, { n: records.length, examples: records.map((r, i) => `[${labels[i]}]\n${scoreText(r.data)}`).join('\n\n'), labels: labels.join(', ') }),
        schema: labelledSchema(TeacherScore, labels),
        schemaName: 'select_scores',
        signal,
        usage,
      }),
    );
    if (!answer) {
      log.info({ taskId: task.id, runId: task.run_id, items: records.length }, 'batch answer unusable; scoring its records one by one');
      const one = (i: number) => (p.ids ? { ids: [p.ids[i]] } : { records: [records[i]] });
      return { datasetId: p.dataset_id, records: [], spawn: records.map((r, i) => selectScoreTask.plan(`${task.key}/${i + 1}`, { ...p, ...one(i), chars: scoreText(r.data).length }, task.max_attempts)) };
    }
    return write(byLabel(answer.value, labels).map((s) => fromTeacher(s, answer.model)));
  };
});
