import type { Logger } from 'pino';
import type { ClaimedTask, Usage } from '../../db/queue.repository.js';
import type { LlmClient } from '../llm/llm.client.js';

export interface TaskContext {
  task: ClaimedTask;
  signal: AbortSignal;
  usage: Usage;
  llm: LlmClient;
  log: Logger;
}

export interface TaskResult {
  datasetId: string;
  /** Keys must be deterministic for the task (e.g. `${task.key}:${i}`) so a re-run cannot duplicate. */
  records: Array<{ key: string; data: unknown }>;
}

export type TaskHandler = (ctx: TaskContext) => Promise<TaskResult>;
export type TaskHandlers = Record<string, TaskHandler>;
