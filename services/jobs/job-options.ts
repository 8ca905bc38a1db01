import { Type } from '@sinclair/typebox';
import { CacheMode, LlmSettings } from '../../src/llm/llm-settings.js';

export { LlmSettings };

/**
 * Every job request's own flag (not a stage's): plan the run and answer what it would do and cost,
 * without queuing anything (services/jobs/dry-run.ts).
 */
export const dryRun = {
  dry_run: Type.Optional(
    Type.Boolean({
      description:
        'true: answer 200 { plan } — tasks, teacher calls, the chunks (the first 1,000, at most 2,000,000 characters of text) and estimated tokens and cost — and queue nothing',
    }),
  ),
};

/**
 * The response cache for this job's (or stage's) teacher calls; the same as `llm.cache`, which
 * services/jobs/job-cache.ts folds it into before planning.
 */
export const cacheOption = {
  cache: Type.Optional({ ...CacheMode, description: `${CacheMode.description} (the same as llm.cache; give one, or both alike)` }),
};

/**
 * The run's budget (services/jobs/budget.ts): when its spend, or its projection once a few tasks
 * finished, crosses it, the run takes no new work and ends `failed` with reason `budget_exceeded`;
 * POST /v1/runs/{id}/retry with a higher `max_cost_usd` resumes it.
 */
export const budgetOption = {
  max_cost_usd: Type.Optional(
    Type.Number({
      minimum: 0.000001,
      maximum: 1_000_000,
      description:
        'Most the run may cost, USD (0.000001 to 1,000,000): once its spend, or its projected total after 5 finished tasks, crosses it, no more tasks start; those in flight finish and are kept, and the run ends failed with error.category budget_exceeded (unless every task had already started: then it ends as its tasks do). A pipeline’s covers all its stages',
    }),
  ),
};

/** Options every job that calls a teacher takes. */
export const jobOptions = {
  ...cacheOption,
  ...budgetOption,
  system_prompt: Type.Optional(Type.String({ maxLength: 20_000, description: 'Replaces the default system prompt of the teacher' })),
  dataset_name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  max_attempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 10, description: 'Attempts per task before it counts as failed (default 3)' })),
  llm: Type.Optional(LlmSettings),
};
