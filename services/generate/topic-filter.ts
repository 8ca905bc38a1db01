import { Type } from '@sinclair/typebox';
import type { Usage } from '../../src/llm/usage.js';
import { itemLabels, misaligned } from '../../src/llm/aligned.js';
import type { LlmClient } from '../../src/llm/llm.client.js';
import { render, type PromptTemplate } from '../../src/prompts.js';
import type { TaskResult } from '../../src/queue/task-handler.js';
import type { LlmSettings } from '../jobs/job-options.js';

const schemas = new Map<number, ReturnType<typeof makeSchema>>();
const makeSchema = (n: number) =>
  Type.Object({ items: Type.Array(Type.Object({ id: Type.String(), on_topic: Type.Boolean(), reason: Type.String() }), { minItems: n, maxItems: n }) });

/**
 * Asks the teacher which generated records are about `topic`; off-topic ones are redirected to the
 * run's rejected set with the judge's reason, so the report can say how many were dropped and why.
 */
export async function filterByTopic(
  call: { llm: LlmClient; llmSettings: LlmSettings; signal: AbortSignal; usage: Usage; prompt: PromptTemplate },
  topic: string,
  rejectedDatasetId: string,
  records: TaskResult['records'],
): Promise<TaskResult['records']> {
  const n = records.length;
  const ids = itemLabels('p', n);
  const schema = schemas.get(n) ?? schemas.set(n, makeSchema(n)).get(n)!;
  const pairs = records.map((r, i) => {
    const d = r.data as { question: string; answer: string };
    return `[${ids[i]}]\nQuestion: ${d.question}\nAnswer: ${d.answer}`;
  });
  const { value } = await call.llm.structured({
    llm: call.llmSettings, system: call.prompt.system, schemaName: 'topic_verdicts', schema, signal: call.signal, usage: call.usage,
    prompt: render(call.prompt.user, { topic, pairs: pairs.join('\n\n') }),
    check: (v) => misaligned(v.items, ids),
  });
  return records.map((r, i) => {
    const verdict = value.items[i];
    return verdict.on_topic
      ? r
      : { ...r, data: { ...(r.data as object), rejection: { reason: 'off_topic', detail: verdict.reason, topic } }, datasetId: rejectedDatasetId };
  });
}
