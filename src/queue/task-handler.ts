import type { Logger } from 'pino';
import type { NewEvent } from '../../db/events.repository.js';
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
  /**
   * Keys must be deterministic for the task (e.g. `${task.key}:${i}`) so a re-run cannot duplicate.
   * A record may name another dataset of the run (curate's rejected set); only records of the run's
   * own dataset count as its progress.records.
   */
  records: Array<{ key: string; data: unknown; datasetId?: string }>;
  /** Run-level events to append with the task's completion (e.g. a pipeline's stage.started). */
  events?: NewEvent[];
  /** Merged into the run's output with the task's completion. */
  output?: Record<string, unknown>;
  /** Follow-up tasks of the same run, queued in the same commit (keys deterministic, so a redo adds nothing). */
  spawn?: Array<{ key: string; kind: string; payload: unknown; maxAttempts?: number }>;
}

export type TaskHandler = (ctx: TaskContext) => Promise<TaskResult>;
export type TaskHandlers = Record<string, TaskHandler>;
