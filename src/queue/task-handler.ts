import type { Logger } from 'pino';
import type { NewEvent } from '../../db/events.repository.js';
import type { ClaimedTask } from '../../db/queue.repository.js';
import type { LlmClient } from '../llm/llm.client.js';
import type { Usage } from '../llm/usage.js';

/** What the worker hands every task: the claimed row, its abort signal and what its calls cost. */
export interface WorkerTaskContext {
  task: ClaimedTask;
  signal: AbortSignal;
  usage: Usage;
  llm: LlmClient;
  log: Logger;
}

/** What a typed handler receives: the same, with the payload checked against its task kind's schema. */
export interface TaskContext<P> extends WorkerTaskContext {
  payload: P;
}

export interface TaskResult {
  datasetId: string;
  /**
   * Keys must be deterministic for the task (e.g. `${task.key}:${i}`) so a re-run cannot duplicate.
   * A record may name another dataset of the run (curate's rejected set); only records of the run's
   * own dataset count as its progress.records.
   */
  records: Array<{ key: string; data: unknown; datasetId?: string; /** The export contracts that refuse it (records.unrenderable). */ unrenderable?: string | null }>;
  /** Run-level events to append with the task's completion (e.g. a pipeline's stage.started). */
  events?: NewEvent[];
  /** Merged into the run's output with the task's completion. */
  output?: Record<string, unknown>;
  /** Follow-up tasks of the same run, queued in the same commit (keys deterministic, so a redo adds nothing). */
  spawn?: Array<{ key: string; kind: string; payload: unknown; maxAttempts?: number }>;
}

export type TaskHandler = (ctx: WorkerTaskContext) => Promise<TaskResult>;
export type TaskHandlers = Record<string, TaskHandler>;
