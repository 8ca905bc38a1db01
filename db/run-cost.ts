/**
 * What a run has spent and will spend, from its counters: the cost fields of `progress` and the
 * `max_cost_usd` check every commit makes. Derived, never stored.
 */

/**
 * Tasks that must have finished before a projection may stop a run: the first few tasks' cost says
 * little (a judge task after ten cheap ones, a retry), and one unlucky task must not end a run.
 * Spending the budget stops it whatever the count.
 */
export const PROJECTION_MIN_FINISHED = 5;

interface Spend {
  total: number;
  done: number;
  failed: number;
  cost_usd: number;
}

/**
 * Spent ÷ finished tasks × all tasks: null before the first task finished, and for a pipeline,
 * whose spend comes from stage runs that its own (advance) tasks do not measure.
 */
export function projectedCost(run: Spend, throughStages = false): number | null {
  const finished = run.done + run.failed;
  if (throughStages || finished === 0) return null;
  return (run.cost_usd / finished) * Math.max(run.total, finished);
}

/** The cost fields of a run's progress. */
export function costProgress(run: Spend & { through_stages?: boolean; batch_expected_completion?: string | null }, elapsedSeconds: number) {
  const projected = projectedCost(run, run.through_stages);
  return {
    projected_cost_usd: projected === null ? null : round6(projected),
    cost_per_minute: elapsedSeconds > 0 ? round6((run.cost_usd / elapsedSeconds) * 60) : 0,
    // Written by the batch loop into the run's output (output.batch.expected_completion).
    ...(run.batch_expected_completion ? { batch_expected_completion: run.batch_expected_completion } : {}),
  };
}

/** Why a run stopped at its budget: the figures its status reason and `run.budget_exceeded` event carry. */
export interface BudgetExceeded {
  spent_usd: number;
  projected_usd: number | null;
  budget_usd: number;
  /** `spent`: the spend reached the budget; `projected`: the projection crossed it. */
  by: 'spent' | 'projected';
}

/**
 * Whether a run with these counters has crossed `budget`: its spend reached it, or, once
 * PROJECTION_MIN_FINISHED tasks finished, its projection exceeds it. Undefined while within it.
 */
export function budgetCrossed(run: Spend, budget: number | null | undefined, throughStages = false): BudgetExceeded | undefined {
  if (budget === null || budget === undefined) return undefined;
  const projected = projectedCost(run, throughStages);
  const figures = { spent_usd: round6(run.cost_usd), projected_usd: projected === null ? null : round6(projected), budget_usd: budget };
  if (run.cost_usd >= budget) return { ...figures, by: 'spent' };
  if (projected !== null && run.done + run.failed >= PROJECTION_MIN_FINISHED && projected > budget) return { ...figures, by: 'projected' };
  return undefined;
}

const round6 = (n: number) => Math.round(n * 1e6) / 1e6;
