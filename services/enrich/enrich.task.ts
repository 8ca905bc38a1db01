import { Type, type TSchema } from '@sinclair/typebox';
import { itemLabels, misaligned } from '../../src/llm/aligned.js';
import { render, type PromptTemplate } from '../../src/prompts.js';
import type { TaskHandler } from '../../src/queue/task-handler.js';
import type { LlmSettings } from '../generate/generate.spec.js';
import { requirePrompt } from '../generate/qa.task.js';

export interface EnrichTaskPayload {
  dataset_id: string;
  mode: 'rewrite' | 'cot';
  preserve_original: boolean;
  llm: LlmSettings;
  system_prompt?: string;
  records: Array<{ key: string; data: Record<string, unknown> }>;
}

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
export function enrichTaskHandler(prompts: Map<string, PromptTemplate>): TaskHandler {
  const rewritePrompt = requirePrompt(prompts, 'enrich-rewrite');
  const cotPrompt = requirePrompt(prompts, 'enrich-cot');
  return async ({ task, llm, signal, usage }) => {
    const p = task.payload as EnrichTaskPayload;
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
}
