import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { byLabel, itemLabels, labelledSchema, unlessSplit } from '../../src/llm/aligned.js';
import { render, requirePrompt } from '../../src/prompts.js';
import { LlmSettings } from '../jobs/job-options.js';
import { defineTask, type TypedTask } from '../jobs/task-kind.js';

/** enrich.batch: a batch of pairs for one call. */
export const EnrichTaskPayload = Type.Object({
  dataset_id: Type.String(),
  mode: Type.Union([Type.Literal('rewrite'), Type.Literal('cot')]),
  preserve_original: Type.Boolean(),
  llm: LlmSettings,
  system_prompt: Type.Optional(Type.String()),
  records: Type.Array(Type.Object({ key: Type.String(), data: Type.Record(Type.String(), Type.Unknown()) })),
});

/** What the teacher gives for one pair, under the pair's label (`p1`, …): a rewrite, or reasoning steps. */
export const Rewrite = Type.Object({ enriched_answer: Type.String({ minLength: 1 }), changes: Type.Array(Type.String()) });
export const Reasoning = Type.Object({ reasoning: Type.Array(Type.String({ minLength: 1 }), { minItems: 2, maxItems: 5 }) });

/**
 * Enriches a batch of pairs in one call. The answer holds one entry per pair label (`p1`, `p2`, …),
 * enforced by the schema and read by label. A batch whose answer still cannot be used is split: its
 * pairs are queued as batches of one, so one stubborn pair fails alone and nothing is stored
 * against the wrong pair.
 */
export const enrichTask: TypedTask<typeof EnrichTaskPayload> = defineTask('enrich.batch', EnrichTaskPayload, ({ prompts }) => {
  const rewritePrompt = requirePrompt(prompts, 'enrich-rewrite');
  const cotPrompt = requirePrompt(prompts, 'enrich-cot');
  return async ({ task, llm, signal, usage, log, payload: p }) => {
    const prompt = p.mode === 'rewrite' ? rewritePrompt : cotPrompt;
    const labels = itemLabels('p', p.records.length);
    const pairs = p.records.map((r, i) => `[${labels[i]}]\nQuestion: ${String(r.data.question)}\nAnswer: ${String(r.data.answer)}`).join('\n\n');
    /** One call for the batch; each pair's data from the entry under its own label, or undefined when the batch must be split. */
    const ask = async <T extends TSchema>(item: T, schemaName: string, enrich: (data: Record<string, unknown>, entry: Static<T>, model: string) => Record<string, unknown>) => {
      const answer = await unlessSplit(
        p.records.length,
        llm.structured({
          llm: p.llm,
          system: p.system_prompt ?? prompt.system,
          prompt: render(prompt.user, { n: p.records.length, pairs, labels: labels.join(', ') }),
          schema: labelledSchema(item, labels),
          schemaName,
          signal,
          usage,
        }),
      );
      if (!answer) return undefined;
      const entries = byLabel(answer.value, labels);
      return p.records.map((r, i) => ({ key: r.key, data: enrich(r.data, entries[i], answer.model) }));
    };
    const records =
      p.mode === 'rewrite'
        ? await ask(Rewrite, 'enriched_answers', (data, e, model) => ({
            ...data,
            answer: e.enriched_answer.trim(),
            ...(p.preserve_original ? { original_answer: data.answer } : {}),
            enrichment_changes: e.changes,
            enrichment_model: model,
          }))
        : await ask(Reasoning, 'reasoning', (data, e, model) => ({ ...data, reasoning: e.reasoning.map((s) => s.trim()), enrichment_model: model }));
    if (records) return { datasetId: p.dataset_id, records };
    log.info({ taskId: task.id, runId: task.run_id, items: p.records.length }, 'batch answer unusable; retrying its pairs one by one');
    return { datasetId: p.dataset_id, records: [], spawn: p.records.map((r, i) => enrichTask.plan(`${task.key}/${i + 1}`, { ...p, records: [r] }, task.max_attempts)) };
  };
});
