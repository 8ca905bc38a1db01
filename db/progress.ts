import { costProgress } from './run-cost.js';

/**
 * A run's progress as clients see it, from its counters: rates and ETA derived, not stored. An ended
 * run has no ETA (null), whatever its counters say: a canceled or failed run will not finish them.
 */
export function progressOf(run: {
  total: number;
  done: number;
  failed: number;
  records: number;
  input_tokens: number;
  output_tokens: number;
  cost_usd: number;
  cache_hits: number;
  started_at: Date | string | null;
  ended?: boolean;
  /** A pipeline: its spend is its stages', so it projects no total cost (run-cost.ts). */
  through_stages?: boolean;
  /** output.batch.expected_completion of a batch-mode run. */
  batch_expected_completion?: string | null;
}) {
  const elapsed = run.started_at ? Math.max(0.001, (Date.now() - new Date(run.started_at).getTime()) / 1000) : 0;
  const finished = run.done + run.failed;
  const taskRate = elapsed > 0 ? finished / elapsed : 0;
  const remaining = Math.max(0, run.total - finished);
  return {
    total: run.total,
    done: run.done,
    failed: run.failed,
    records: run.records,
    records_per_second: elapsed > 0 ? round(run.records / elapsed) : 0,
    tasks_per_second: round(taskRate),
    tokens: { input: run.input_tokens, output: run.output_tokens },
    cost_usd: round(run.cost_usd, 6),
    ...costProgress(run, elapsed),
    // Teacher calls the response cache answered: neither requests nor tokens nor cost.
    cache_hits: run.cache_hits,
    eta_seconds: run.ended ? null : remaining === 0 ? 0 : taskRate > 0 ? round(remaining / taskRate, 1) : null,
  };
}

const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;
