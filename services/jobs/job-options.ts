import { Type } from '@sinclair/typebox';
import { LlmSettings } from '../../src/llm/llm-settings.js';

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

/** Options every job that calls a teacher takes. */
export const jobOptions = {
  system_prompt: Type.Optional(Type.String({ maxLength: 20_000, description: 'Replaces the default system prompt of the teacher' })),
  dataset_name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  max_attempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 10, description: 'Attempts per task before it counts as failed (default 3)' })),
  llm: Type.Optional(LlmSettings),
};
