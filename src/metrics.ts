import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Provider } from './llm/providers.js';

/** Longest label value written; configured names longer than this are cut. */
const MAX_LABEL = 100;

/**
 * The `model` label of teacher metrics: a model the operator configured for the provider (its
 * default `model` or one of its `models`), or `other`. Callers choose `llm.model` freely, so using
 * it as it came would let one tenant blow up the series count (a 100,000-character label) and show
 * every tenant's model names to anyone reading /metrics.
 */
export function modelLabel(provider: Pick<Provider, 'defaultModel' | 'models'>, model: string): string {
  const known = model === provider.defaultModel || (provider.models?.includes(model) ?? false);
  return known ? model.slice(0, MAX_LABEL) : 'other';
}

/** One registry per app instance (no prom-client globals), so tests can build many apps. */
export function createMetrics(options: { runsByStatus?: () => Promise<Record<string, number>> } = {}) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'quarry_process_' });
  const runs = new Gauge({
    name: 'quarry_runs',
    help: 'Runs by status',
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      if (!options.runsByStatus) return;
      const counts = await options.runsByStatus();
      this.reset();
      for (const [status, n] of Object.entries(counts)) this.set({ status }, n);
    },
  });
  return {
    registry,
    runs,
    tasksClaimed: new Counter({ name: 'quarry_tasks_claimed_total', help: 'Tasks claimed by workers in this process', registers: [registry] }),
    tasksCompleted: new Counter({ name: 'quarry_tasks_completed_total', help: 'Tasks completed by workers in this process', registers: [registry] }),
    tasksFailed: new Counter({ name: 'quarry_tasks_failed_total', help: 'Task attempts that failed, by category and whether they will be retried', labelNames: ['category', 'final'], registers: [registry] }),
    llmRequests: new Counter({ name: 'quarry_llm_requests_total', help: 'LLM requests by provider, model and outcome', labelNames: ['provider', 'model', 'outcome'], registers: [registry] }),
    llmTokens: new Counter({ name: 'quarry_llm_tokens_total', help: 'LLM tokens by provider and direction', labelNames: ['provider', 'direction'], registers: [registry] }),
    // Batch mode (src/queue/batch-runner.ts), counted by the process that did it.
    batches: new Counter({ name: 'quarry_llm_batches_total', help: 'Provider batches by provider and event (submitted, recovered, ended, canceled, failed, expired)', labelNames: ['provider', 'event'], registers: [registry] }),
    batchItems: new Counter({ name: 'quarry_llm_batch_items_total', help: 'Batch lines by provider and outcome (submitted, succeeded, errored, requeued)', labelNames: ['provider', 'outcome'], registers: [registry] }),
    llmCost: new Counter({ name: 'quarry_llm_cost_usd_total', help: 'What teacher calls cost in USD (pricing.ts: configured or table prices), by provider and model', labelNames: ['provider', 'model'], registers: [registry] }),
    llmCache: new Counter({ name: 'quarry_llm_cache_total', help: "Response-cache lookups (calls with cache: 'use'), by provider and result (hit, miss)", labelNames: ['provider', 'result'], registers: [registry] }),
    // The rate layer (src/llm/rate/): time calls waited for budget or a paused provider, every 429 answer
    // (SDK retries included), the breaker (0 closed, 1 half-open, 2 open) and the AIMD concurrency.
    llmRateWait: new Counter({ name: 'quarry_llm_rate_limit_wait_seconds_total', help: 'Seconds teacher calls waited for rate-limit budget or a paused provider, by provider', labelNames: ['provider'], registers: [registry] }),
    llmRateLimited: new Counter({ name: 'quarry_llm_429_total', help: 'HTTP 429 answers from providers (each SDK attempt), by provider', labelNames: ['provider'], registers: [registry] }),
    llmBreakerState: new Gauge({ name: 'quarry_llm_breaker_state', help: 'Circuit breaker per provider: 0 closed, 1 half-open, 2 open (calls paused)', labelNames: ['provider'], registers: [registry] }),
    llmConcurrency: new Gauge({ name: 'quarry_llm_concurrency', help: 'Teacher calls a provider may have in flight per process, after AIMD backoff', labelNames: ['provider'], registers: [registry] }),
    llmLatency: new Histogram({
      name: 'quarry_llm_request_duration_seconds',
      help: 'LLM request latency, including SDK-level retries',
      labelNames: ['provider'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
