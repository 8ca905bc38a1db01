/**
 * A job's `max_cost_usd` (job-options.ts `budgetOption`), read from any job's spec or a pipeline
 * stage's section of one: it goes on the run row, where every commit checks it (db/run-cost.ts).
 */
export function budgetOf(spec: unknown): number | undefined {
  if (typeof spec !== 'object' || spec === null || !('max_cost_usd' in spec)) return undefined;
  const budget = spec.max_cost_usd;
  return typeof budget === 'number' && Number.isFinite(budget) && budget > 0 ? budget : undefined;
}
