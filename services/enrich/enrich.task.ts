import { Type, type TSchema } from '@sinclair/typebox';
import { itemLabels, misaligned } from '../../src/llm/aligned.js';
import { render, requirePrompt } from '../../src/prompts.js';
import { LlmSettings } from '../jobs/job-options.js';
import { defineTask } from '../jobs/task-kind.js';

/** enrich.batch: a batch of pairs for one call. */
export const EnrichTaskPayload = Type.Object({
  dataset_id: Type.String(),
  mode: Type.Union([Type.Literal('rewrite'), Type.Literal('cot')]),
  preserve_original: Type.Boolean(),
  llm: LlmSettings,
  system_prompt: Type.Optional(Type.String()),
  records: Type.Array(Type.Object({ key: Type.String(), data: Type.Record(Type.String(), Type.Unknown()) })),
});

const Rewrite = Type.Object({ id: Type.String(), enriched_answer: Type.String({ minLength: 1 }), changes: Type.Array(Type.String()) });
const Reasoning = Type.Object({ id: Type.String(), reasoning: Type.Array(Type.String({ minLength: 1 }), { minItems: 2, maxItems: 5 }) });
const schemas = new Map<string, TSchema>();
function itemsSchema(mode: 'rewrite' | 'cot', n: number) {
  const key = `${mode}:${n}`;
  if (!schemas.has(key)) schemas.set(key, Type.Object({ items: Type.Array(mode === 'rewrite' ? Rewrite : Reasoning, { minItems: n, maxItems: n }) }));
  return schemas.get(key) as ReturnType<typeof Type.Object<{ items: ReturnType<typeof Type.Array<typeof Rewrite | typeof Reasoning>> }>>;
}


/**
 * Enriches a batch of pairs in one call. Items must echo their pair ids in order: a batch answer
 * that skips or reorders pairs is fed back and retried, never stored misaligned.
 */
export const enrichTask = defineTask('enrich.batch', EnrichTaskPayload, ({ prompts }) => {
  const rewritePrompt = requirePrompt(prompts, 'enrich-rewrite');
  const cotPrompt = requirePrompt(prompts, 'enrich-cot');
  return async ({ llm, signal, usage, payload: p }) => {
    const prompt = p.mode === 'rewrite' ? rewritePrompt : cotPrompt;
    const pairs = p.records
      .map((r, i) => `[p${i + 1}]\nQuestion: ${String(r.data.question)}\nAnswer: ${String(r.data.answer)}`)
      .join('\n\n');
    const { value, model } = await llm.structured({
      llm: p.llm,
      system: p.system_prompt ?? prompt.system,
      prompt: render(prompt.user, { n: p.records.length, pairs }),
      schema: itemsSchema(p.mode, p.records.length),
      schemaName: p.mode === 'rewrite' ? 'enriched_answers' : 'reasoning',
      signal,
      usage,
      check: (v) => misaligned(v.items, itemLabels('p', p.records.length)),
    });
    return {
      datasetId: p.dataset_id,
      records: p.records.map((r, i) => {
        const item = value.items[i] as Record<string, unknown>;
        const data =
          p.mode === 'rewrite'
            ? {
                ...r.data,
                answer: String(item.enriched_answer).trim(),
                ...(p.preserve_original ? { original_answer: r.data.answer } : {}),
                enrichment_changes: item.changes,
                enrichment_model: model,
              }
            : { ...r.data, reasoning: (item.reasoning as string[]).map((s) => s.trim()), enrichment_model: model };
        return { key: r.key, data };
      }),
    };
  };
});
