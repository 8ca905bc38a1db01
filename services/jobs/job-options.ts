import { Type } from '@sinclair/typebox';
import { LlmSettings } from '../../src/llm/llm-settings.js';

export { LlmSettings };

/** Options every job that calls a teacher takes. */
export const jobOptions = {
  system_prompt: Type.Optional(Type.String({ maxLength: 20_000, description: 'Replaces the default system prompt of the teacher' })),
  dataset_name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  max_attempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 10, description: 'Attempts per task before it counts as failed (default 3)' })),
  llm: Type.Optional(LlmSettings),
};
