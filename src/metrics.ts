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
