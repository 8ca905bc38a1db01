import { Type } from '@sinclair/typebox';
import type { Logger } from 'pino';
import type { ClaimedTask } from '../../db/queue.repository.js';
import { byLabel, itemLabels, labelledSchema, unlessSplit } from '../../src/llm/aligned.js';
import type { LlmClient } from '../../src/llm/llm.client.js';
import type { Usage } from '../../src/llm/usage.js';
import { render, requirePrompt, type PromptTemplate } from '../../src/prompts.js';
import type { TaskResult } from '../../src/queue/task-handler.js';
import { LlmSettings } from '../jobs/job-options.js';
import { defineTask, type TypedTask } from '../jobs/task-kind.js';

const Rec = Type.Object({ key: Type.String(), data: Type.Record(Type.String(), Type.Unknown()) });
type Rec = { key: string; data: Record<string, unknown> };

/** generate.topic_filter: one generated record whose batch verdict could not be used, judged alone. */
export const TopicFilterPayload = Type.Object({
  dataset_id: Type.String(),
  rejected_dataset_id: Type.String(),
  topic: Type.String(),
  llm: LlmSettings,
  record: Rec,
});

/** The verdict for one pair, under the pair's label (`p1`, …). */
export const Verdict = Type.Object({ on_topic: Type.Boolean(), reason: Type.String() });

interface FilterCall {
  task: ClaimedTask;
  llm: LlmClient;
  llmSettings: LlmSettings;
  signal: AbortSignal;
  usage: Usage;
  log: Logger;
  prompt: PromptTemplate;
  datasetId: string;
}

/**
 * Asks the teacher which generated records are about `topic`; off-topic ones are redirected to the
 * run's rejected set with the judge's reason, so the report can say how many were dropped and why.
 * Verdicts come under each pair's label, enforced by the schema. When the batch answer still cannot
 * be used, the records are judged one by one in tasks of their own (`generate.topic_filter`), so a
 * record whose verdict never comes fails alone and the others are kept.
 */
export async function filterByTopic(call: FilterCall, topic: string, rejectedDatasetId: string, records: Rec[]): Promise<Pick<TaskResult, 'records' | 'spawn'>> {
  const labels = itemLabels('p', records.length);
  const pairs = records.map((r, i) => `[${labels[i]}]\nQuestion: ${String(r.data.question)}\nAnswer: ${String(r.data.answer)}`);
  const answer = await unlessSplit(
    records.length,
    call.llm.structured({
      llm: call.llmSettings, system: call.prompt.system, schemaName: 'topic_verdicts', schema: labelledSchema(Verdict, labels), signal: call.signal, usage: call.usage,
      prompt: render(call.prompt.user, { topic, pairs: pairs.join('\n\n'), labels: labels.join(', ') }),
    }),
  );
  if (!answer) {
    const { task } = call;
    call.log.info({ taskId: task.id, runId: task.run_id, items: records.length }, 'topic verdicts unusable; judging the records one by one');
    const shared = { dataset_id: call.datasetId, rejected_dataset_id: rejectedDatasetId, topic, llm: call.llmSettings };
    return { records: [], spawn: records.map((record, i) => topicFilterTask.plan(`${task.key}/topic${i + 1}`, { ...shared, record }, task.max_attempts)) };
  }
  const verdicts = byLabel(answer.value, labels);
  return {
    records: records.map((r, i) =>
      verdicts[i].on_topic ? r : { ...r, data: { ...r.data, rejection: { reason: 'off_topic', detail: verdicts[i].reason, topic } }, datasetId: rejectedDatasetId },
    ),
  };
}

export const topicFilterTask: TypedTask<typeof TopicFilterPayload> = defineTask('generate.topic_filter', TopicFilterPayload, ({ prompts }) => {
  const prompt = requirePrompt(prompts, 'topic-judge');
  return async ({ task, llm, signal, usage, log, payload: p }) => {
    const call = { task, llm, llmSettings: p.llm, signal, usage, log, prompt, datasetId: p.dataset_id };
    return { datasetId: p.dataset_id, ...(await filterByTopic(call, p.topic, p.rejected_dataset_id, [p.record])) };
  };
});
