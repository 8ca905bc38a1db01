import type { NewTask } from '../../db/runs.repository.js';
import { priceOf, type PriceSource } from '../../src/llm/pricing.js';
import type { ProviderRegistry } from '../../src/llm/providers.js';
import { foldRequestCache } from './job-cache.js';
import { budgetOf } from './budget.js';
import type { JobDeps, StageStarter } from './job-deps.js';
import type { JobEndpoint, JobModule, TaskEstimator } from './job-module.js';

/**
 * A dry run lists at most `chunks` chunks with at most `chunkChars` characters of text in all (the
 * first ones, in task order); `chunks_total` counts every chunk the run would use.
 */
export const DRY_RUN_LIMITS = { chunks: 1_000, chunkChars: 2_000_000 } as const;
/** Characters per token for estimates: no tokenizer is a dependency, and teachers differ anyway. */
export const CHARS_PER_TOKEN = 4;
/** Characters a prompt template and its answer schema add to every call (prompts/ holds 500–1,100 each). */
export const PROMPT_CHARS = 1_200;

export interface PreviewChunk { id: string; source: string; section_path: string[]; chars: number; text: string }

export interface PlanPreview {
  kind: string;
  tasks: number;
  teacher_calls: number;
  chunks: PreviewChunk[];
  chunks_total: number;
  estimated_input_tokens: number;
  estimated_output_tokens: number;
  estimated_cost_usd: number | null;
  /** The prices the estimate used, and whence each came (configured or the price table). */
  pricing: PriceUsed[];
  report?: Record<string, unknown>;
  stages?: Array<{ stage: string; planned: boolean; tasks?: number; teacher_calls?: number; note?: string }>;
  notes: string[];
}

/** What a dry run needs beside the job's own dependencies: every module's estimates and the pipeline stages. */
export interface DryRunContext {
  estimators: Record<string, TaskEstimator>;
  stages: Record<string, StageStarter>;
}

/** `dry_run` is a request flag, not part of the spec a run stores or hashes. */
export function withoutDryRun(spec: unknown): { spec: unknown; dryRun: boolean } {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec) || !('dry_run' in spec)) return { spec, dryRun: false };
  const { dry_run: flag, ...rest } = spec;
  return { spec: rest, dryRun: flag === true };
}

/** Plans a job request exactly as queuing it would, and answers what the run would do and cost; writes nothing. */
export async function dryRunJob(
  deps: JobDeps,
  endpoint: JobEndpoint,
  module: Pick<JobModule, 'preview'>,
  context: DryRunContext,
  input: { owner: string; spec: unknown; query: unknown },
): Promise<{ plan: PlanPreview }> {
  const plan = await endpoint.plan(deps, { ...input, spec: foldRequestCache(withoutDryRun(input.spec).spec) });
  const stages = module.preview ? await module.preview(deps, context.stages, input.owner, plan) : undefined;
  const plans = [plan, ...(stages ?? []).flatMap((s) => (s.plan ? [s.plan] : []))];
  const tasks = plans.flatMap((p) => p.tasks);
  const total = estimateTasks(deps.providers, context.estimators, tasks);
  const notes = [
    `Estimates count ${CHARS_PER_TOKEN} characters a token and typical answer lengths; retries and rejected answers are not in them.`,
    ...(total.unpriced.length
      ? [`No price is known for the model of provider ${total.unpriced.join(', ')} (neither PROVIDERS_FILE pricing nor the price table), so estimated_cost_usd is null.`]
      : []),
    ...(stages ?? []).flatMap((s) => (s.note ? [`${s.stage}: ${s.note}`] : [])),
    ...overBudgetNote(total, budgetOf(input.spec)),
  ];
  return {
    plan: {
      kind: plan.kind,
      tasks: tasks.length,
      teacher_calls: total.calls,
      ...listChunks(tasks),
      estimated_input_tokens: Math.ceil(total.inputChars / CHARS_PER_TOKEN),
      estimated_output_tokens: total.outputTokens,
      estimated_cost_usd: total.unpriced.length ? null : Math.round(total.cost * 1e6) / 1e6,
      pricing: [...total.prices.values()],
      ...(plan.report ? { report: plan.report } : {}),
      ...(stages
        ? {
            stages: stages.map((s) => {
              if (!s.plan) return { stage: s.stage, planned: false, ...(s.note ? { note: s.note } : {}) };
              return { stage: s.stage, planned: true, tasks: s.plan.tasks.length, teacher_calls: estimateTasks(deps.providers, context.estimators, s.plan.tasks).calls };
            }),
          }
        : {}),
      notes,
    },
  };
}

/** A price a dry run used: per provider and model, whence it came, and whether at batch rates. */
export interface PriceUsed { provider: string; model: string; source: Exclude<PriceSource, 'unknown'>; batch: boolean; input_per_mtok: number; output_per_mtok: number }

function estimateTasks(providers: ProviderRegistry, estimators: Record<string, TaskEstimator>, tasks: NewTask[]) {
  const sum = { calls: 0, inputChars: 0, outputTokens: 0, cost: 0, unpriced: [] as string[], prices: new Map<string, PriceUsed>() };
  for (const task of tasks) {
    const estimate = estimators[task.kind]?.(task.payload);
    if (!estimate || estimate.calls === 0) continue;
    sum.calls += estimate.calls;
    sum.inputChars += estimate.inputChars;
    sum.outputTokens += estimate.outputTokens;
    const llm = task.payload.llm;
    const name = estimate.provider ?? (typeof est.field(llm, 'provider') === 'string' ? String(est.field(llm, 'provider')) : undefined);
    const provider = providers.get(name);
    const model = typeof est.field(llm, 'model') === 'string' ? String(est.field(llm, 'model')) : provider?.defaultModel;
    const batch = est.field(llm, 'mode') === 'batch';
    // Embedding calls are priced at the provider's embedding_pricing, input only; teacher calls at
    // the model's price in effect (configured, else the price table), at batch rates in batch mode.
    const price = provider && model && !estimate.embedding ? priceOf(provider, model) : undefined;
    const pricing = estimate.embedding
      ? provider?.embeddingPricing && { ...provider.embeddingPricing, output_per_mtok: 0 }
      : price && price.source !== 'unknown'
        ? { input_per_mtok: batch ? price.batch_input_per_mtok : price.input_per_mtok, output_per_mtok: batch ? price.batch_output_per_mtok : price.output_per_mtok }
        : undefined;
    if (!pricing) {
      const label = provider?.name ?? name ?? providers.defaultName;
      if (!sum.unpriced.includes(label)) sum.unpriced.push(label);
      continue;
    }
    if (price && price.source !== 'unknown' && provider && model) {
      const key = `${provider.name}\u0000${model}\u0000${batch}`;
      if (!sum.prices.has(key)) sum.prices.set(key, { provider: provider.name, model, source: price.source, batch, ...pricing });
    }
    sum.cost += ((estimate.inputChars / CHARS_PER_TOKEN) * pricing.input_per_mtok + estimate.outputTokens * pricing.output_per_mtok) / 1e6;
  }
  return sum;
}

/** A warning when the estimate already exceeds the request's max_cost_usd (the run would stop short). */
function overBudgetNote(total: { cost: number; unpriced: string[] }, budget: number | undefined): string[] {
  if (budget === undefined || total.unpriced.length > 0 || total.cost <= budget) return [];
  return [`The estimate ($${Math.round(total.cost * 1e6) / 1e6}) exceeds max_cost_usd ($${budget}): the run would stop with budget_exceeded before it finishes.`];
}

/** The distinct chunks the tasks generate from, the first ones listed within DRY_RUN_LIMITS. */
function listChunks(tasks: NewTask[]): { chunks: PreviewChunk[]; chunks_total: number } {
  const seen = new Set<string>();
  const chunks: PreviewChunk[] = [];
  let chars = 0;
  for (const task of tasks) {
    const c = task.payload.chunk;
    if (typeof c !== 'object' || c === null || !('chunk_id' in c) || !('content' in c) || !('source' in c)) continue;
    const { chunk_id: id, content: text, source } = c;
    if (typeof id !== 'string' || typeof text !== 'string' || typeof source !== 'string') continue;
    const key = `${source}\u0000${id}`;
    if (seen.has(key)) continue;
    seen.add(key);
    if (chunks.length < DRY_RUN_LIMITS.chunks && chars + text.length <= DRY_RUN_LIMITS.chunkChars) {
      const path = 'section_path' in c && Array.isArray(c.section_path) ? c.section_path.filter((s): s is string => typeof s === 'string') : [];
      chunks.push({ id, source, section_path: path, chars: text.length, text });
      chars += text.length;
    }
  }
  return { chunks, chunks_total: seen.size };
}

/** Helpers estimators read loosely typed payloads with (the payload was checked against its schema when planned). */
export const est = {
  chars: (v: unknown): number => (typeof v === 'string' ? v.length : v === undefined || v === null ? 0 : JSON.stringify(v).length),
  int: (v: unknown, fallback: number): number => (typeof v === 'number' && Number.isFinite(v) ? v : fallback),
  field: (v: unknown, key: string): unknown => (typeof v === 'object' && v !== null ? Reflect.get(v, key) : undefined),
};
