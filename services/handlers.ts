import type { PromptTemplate } from '../src/prompts.js';
import type { TaskHandlers } from '../src/queue/task-handler.js';
import { qaTaskHandler } from './generate/qa.task.js';

/** Every task kind a worker can run, by the `kind` the planners give their tasks. */
export function taskHandlers(prompts: Map<string, PromptTemplate>): TaskHandlers {
  return {
    'generate.qa': qaTaskHandler(prompts),
  };
}
