import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Database } from '../../db/client.js';
import { commitOutcomes } from '../../db/outcomes.repository.js';
import {
  CANCEL_CHANNEL, TASKS_CHANNEL, claimTasks, extendLeases, reapExpired, releaseTasks,
  type ClaimedTask, type Outcome, type Usage,
} from '../../db/queue.repository.js';
import type { CommitHooks } from '../../db/run-hooks.js';
import { markRunsStarted } from '../../db/runs.repository.js';
import { BUDGET_CHANNEL } from '../../db/budget.repository.js';
import { settleStranded } from '../../db/settle.repository.js';
import type { LlmClient } from '../llm/llm.client.js';
import { BatchDeferred } from '../llm/batch.js';
import { LlmError } from '../llm/llm.errors.js';
import type { Metrics } from '../metrics.js';
import { backoffMs } from './backoff.js';
import { createCommitter } from './committer.js';
import type { TaskHandlers } from './task-handler.js';

export interface WorkerOptions {
  database: Database;
  handlers: TaskHandlers;
  /** What the job kinds do when a run ends or is retried (a pipeline's stages); {} for none. */
  hooks: CommitHooks;
  llm: LlmClient;
  log: Logger;
  metrics: Metrics;
  concurrency: number;
  leaseSeconds: number;
  pollIntervalMs: number;
  workerId?: string;
}

interface InFlight {
  task: ClaimedTask;
  controller: AbortController;
  done: Promise<void>;
}

/** The abort reason of a run's cancel (or failure): its tasks' outcomes are `aborted`, not failures. */
class RunStopped extends Error {
  constructor() {
    super('run canceled');
  }
}

/**
 * Runs tasks from the Postgres queue. Claims in batches as slots free up, hands outcomes to the
 * committer (committer.ts, batched commits), keeps leases alive while work (or its commit) is
 * pending, and reaps dead workers' tasks.
 */
export function createWorker(opts: WorkerOptions) {
  const workerId = opts.workerId ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const log = opts.log.child({ workerId });
  const inFlight = new Map<number, InFlight>();
  // Claimed but not started: a freed slot starts one of these at once instead of waiting a round
  // trip to Postgres for its next task.
  const ready: ClaimedTask[] = [];
  const prefetch = Math.min(16, Math.ceil(opts.concurrency / 4));
  const committer = createCommitter({ database: opts.database, workerId, hooks: opts.hooks, log, metrics: opts.metrics, onFlushed: () => wake() });
  const startedRuns = new Set<string>();
  /**
   * Runs a task of which failed fatally in this worker, and when: for a few seconds (until the
   * commit that fails the run has landed) their other claimed tasks are handed back, not started.
   * It expires, so a run retried at once is not held back for good.
   */
  const failing = new Map<string, number>();
  const isFailing = (runId: string) => (failing.get(runId) ?? 0) > Date.now();
  const timers: NodeJS.Timeout[] = [];
  const unlisteners: Array<() => Promise<void>> = [];
  /** Set when stop begins: no more claiming or starting. */
  let closing = false;
  /** Set once the grace period is over: in-flight work is being aborted and released. */
  let stopping = false;
  let claiming = false;
  /** Runs marked over budget while a claim is under way: it may have read them before the mark and taken their tasks. */
  let markedMidClaim: Set<string> | null = null;
  let wakeQueued = false;

  const free = () => opts.concurrency + prefetch - inFlight.size - ready.length;
  // Backpressure: if commits fall behind, stop claiming rather than buffer without bound.
  const backlogged = () => committer.size > opts.concurrency * 4;

  function wake() {
    if (wakeQueued || closing) return;
    wakeQueued = true;
    setImmediate(() => {
      wakeQueued = false;
      void fill();
    });
  }

  async function fill() {
    if (claiming || closing) return;
    claiming = true;
    try {
      // Top up only when the buffer runs low (or a slot idles), so claims come in batches, not one per completion.
      while (!closing && free() > 0 && !backlogged() && (ready.length <= prefetch / 2 || inFlight.size < opts.concurrency)) {
        const want = free();
        markedMidClaim = new Set();
        const claimed = await claimTasks(opts.database.db, workerId, want, opts.leaseSeconds);
        if (claimed.length === 0) break;
        opts.metrics.tasksClaimed.inc(claimed.length);
        const fresh = [...new Set(claimed.map((t) => t.run_id))].filter((id) => !startedRuns.has(id));
        if (fresh.length > 0) {
          if (startedRuns.size > 10_000) startedRuns.clear();
          fresh.forEach((id) => startedRuns.add(id));
          await markRunsStarted(opts.database.db, fresh);
        }
        ready.push(...claimed);
        markedMidClaim.forEach(handBack);
        markedMidClaim = null;
        startReady();
        if (claimed.length < want) break;
      }
    } catch (err) {
      log.error({ err }, 'claiming tasks failed; retrying on next poll');
    } finally {
      claiming = false;
      markedMidClaim = null;
    }
  }

  function startReady() {
    while (!closing && inFlight.size < opts.concurrency && ready.length > 0) {
      const task = ready.shift()!;
      // Its run failed fatally here a moment ago (the commit that fails it may not have landed): not worth a call.
      if (isFailing(task.run_id)) committer.add({ type: 'aborted', task, usage: { requests: 0, input_tokens: 0, output_tokens: 0, cost_usd: 0, cache_hits: 0 } });
      else execute(task);
    }
  }

  function execute(task: ClaimedTask) {
    const controller = new AbortController();
    // Each teacher call of the task listens on its signal (the SDK and the retry race, a few each),
    // and a task may have several calls in flight (knowledge summaries): not a leak.
    setMaxListeners(100, controller.signal);
    const entry = { task, controller } as InFlight;
    inFlight.set(task.id, entry);
    entry.done = runTask(task, controller).finally(() => {
      inFlight.delete(task.id);
      startReady();
      wake();
    });
  }

  async function runTask(task: ClaimedTask, controller: AbortController) {
    const usage: Usage = { requests: 0, input_tokens: 0, output_tokens: 0, cost_usd: 0, cache_hits: 0 };
    const began = performance.now();
    const handler = opts.handlers[task.kind];
    let outcome: Outcome;
    try {
      if (!handler) throw new LlmError('api', `no handler for task kind ${task.kind}`);
      const llm = opts.llm.bind({ owner: task.owner ?? '', runId: task.run_id, taskId: task.id, taskKey: task.key, attempt: task.attempts });
      const result = await handler({ task, signal: controller.signal, usage, llm, log });
      outcome = { type: 'succeeded', task, datasetId: result.datasetId, records: result.records, usage, events: result.events, output: result.output, spawn: result.spawn };
    } catch (err) {
      // A stopping worker releases its tasks instead of recording a failure it did not earn.
      if (stopping && controller.signal.aborted) return;
      if (controller.signal.reason instanceof RunStopped) outcome = { type: 'aborted', task, usage };
      // Waiting for a provider batch: back to the queue uncharged (src/llm/batch.ts).
      else if (err instanceof BatchDeferred) outcome = { type: 'deferred', task, delayMs: err.options.retryAfterMs ?? 0, waitingFor: err.waitingFor, usage };
      else outcome = classify(task, err, usage);
    }
    if (outcome.type === 'fatal') {
      if (failing.size >= 1000) failing.clear();
      failing.set(task.run_id, Date.now() + 5000);
    }
    if (outcome.type !== 'succeeded' && outcome.type !== 'aborted' && outcome.type !== 'deferred') {
      opts.metrics.tasksFailed.inc({ category: outcome.error.category, final: String(outcome.type !== 'retry') });
      log.debug({ taskId: task.id, runId: task.run_id, category: outcome.error.category, type: outcome.type }, 'task attempt failed');
    }
    committer.add(outcome, performance.now() - began);
  }

  function classify(task: ClaimedTask, err: unknown, usage: Usage): Outcome {
    const e = err instanceof LlmError ? err : new LlmError('api', `internal error: ${(err as Error)?.message ?? String(err)}`);
    const error = { category: e.category, message: e.message };
    if (e.options.fatal) return { type: 'fatal', task, error, usage };
    if (e.options.retryable && task.attempts < task.max_attempts) {
      const delayMs = Math.max(e.options.retryAfterMs ?? 0, backoffMs(task.attempts));
      return { type: 'retry', task, error, delayMs, usage };
    }
    return { type: 'failed', task, error, usage };
  }

  async function heartbeat() {
    const held = [...new Set([...inFlight.keys(), ...ready.map((t) => t.id), ...committer.taskIds()])];
    if (held.length === 0) return;
    try {
      const kept = new Set(await extendLeases(opts.database.db, workerId, held, opts.leaseSeconds));
      for (const id of held) {
        if (kept.has(id)) continue;
        // Someone reaped it: our result would be dropped at commit anyway, so stop paying for it.
        inFlight.get(id)?.controller.abort(new Error('lease lost'));
      }
    } catch (err) {
      log.warn({ err }, 'lease heartbeat failed');
    }
  }

  async function reap() {
    try {
      const { requeued, exhausted } = await reapExpired(opts.database.db);
      if (requeued > 0) log.warn({ requeued }, 'requeued tasks whose worker stopped heartbeating');
      if (exhausted.length > 0) {
        const none = { requests: 0, input_tokens: 0, output_tokens: 0, cost_usd: 0, cache_hits: 0 };
        const error = { category: 'api', message: 'the task outlived its lease on every attempt (its worker kept dying)' };
        await commitOutcomes(opts.database.db, 'reaper', exhausted.map((task) => ({ type: 'failed' as const, task, error, usage: none })), opts.hooks);
      }
      // A run whose last commit was not followed by its settle (the worker died in between) ends here.
      await settleStranded(opts.database.db, opts.hooks);
    } catch (err) {
      log.warn({ err }, 'reaping expired leases failed');
    }
  }

  /**
   * Buffered (claimed, not started) tasks of a run are handed straight to the committer, which marks
   * them canceled if the run ended, or queues them again uncharged if it still runs.
   */
  function handBack(runId: string) {
    const none = { requests: 0, input_tokens: 0, output_tokens: 0, cost_usd: 0, cache_hits: 0 };
    for (let i = ready.length - 1; i >= 0; i--) {
      if (ready[i].run_id !== runId) continue;
      const [task] = ready.splice(i, 1);
      committer.add({ type: 'aborted', task, usage: none });
    }
  }

  function every(ms: number, fn: () => unknown) {
    const t = setInterval(fn, ms);
    t.unref();
    timers.push(t);
  }

  return {
    workerId,
    async start() {
      unlisteners.push(await opts.database.listen(TASKS_CHANNEL, () => wake()));
      unlisteners.push(
        await opts.database.listen(CANCEL_CHANNEL, (runId) => {
          for (const f of inFlight.values()) if (f.task.run_id === runId) f.controller.abort(new RunStopped());
          handBack(runId);
        }),
      );
      // A run over its budget starts nothing more: its buffered tasks go back; those in flight finish (db/budget.repository.ts).
      unlisteners.push(
        await opts.database.listen(BUDGET_CHANNEL, (runId) => {
          markedMidClaim?.add(runId);
          handBack(runId);
        }),
      );
      every(opts.pollIntervalMs, wake);
      every(Math.max(200, (opts.leaseSeconds * 1000) / 3), heartbeat);
      every(Math.max(500, (opts.leaseSeconds * 1000) / 2), reap);
      log.info({ concurrency: opts.concurrency }, 'worker started');
      wake();
    },
    /** Stops claiming, lets in-flight tasks finish for `graceMs`, aborts the rest, commits what finished and releases the remainder. */
    async stop(graceMs = 10_000) {
      if (closing) return;
      closing = true;
      const pending = [...inFlight.values()].map((f) => f.done);
      const grace = new Promise((r) => setTimeout(r, graceMs).unref());
      await Promise.race([Promise.all(pending), grace]);
      stopping = true;
      timers.forEach(clearInterval);
      await Promise.all(unlisteners.map((u) => u().catch(() => {})));
      for (const f of inFlight.values()) f.controller.abort(new Error('worker stopping'));
      await Promise.all([...inFlight.values()].map((f) => f.done));
      await committer.drain();
      const released = await releaseTasks(opts.database.db, workerId).catch(() => 0);
      log.info({ released }, 'worker stopped');
    },
    stats: () => ({ inFlight: inFlight.size, ready: ready.length, uncommitted: committer.size, committed: committer.totals() }),
  };
}

export type Worker = ReturnType<typeof createWorker>;
