import type { Logger } from 'pino';
import type { Database } from '../../db/client.js';
import { dueIfAnswered } from '../../db/batch-items.repository.js';
import { commitOutcomes } from '../../db/outcomes.repository.js';
import type { Outcome } from '../../db/queue.repository.js';
import type { CommitHooks } from '../../db/run-hooks.js';
import { describeStorageError, storageErrorSummary } from '../../db/storage-errors.js';
import type { Metrics } from '../metrics.js';

export interface CommitterOptions {
  database: Database;
  workerId: string;
  hooks: CommitHooks;
  log: Logger;
  metrics: Pick<Metrics, 'tasksCompleted'>;
  /** After each flush, settled or not: room the backlog held back may be claimed again. */
  onFlushed: () => void;
}

const COMMIT_BATCH = 256;
/**
 * How long an outcome may wait for others to share its commit: this fraction of the time its tasks
 * take, within the bounds. A commit then carries about the same number of outcomes (a fifth of the
 * tasks in flight) whether the teacher answers in 100 ms or in 10 s, so a slow teacher costs no more
 * CPU per call than a fast one, and a record reaches its watchers within a fifth of a task's time.
 */
const COMMIT_DELAY_SHARE = 0.2;
const COMMIT_DELAY_MS = { min: 5, max: 250 };
const COMMIT_RETRY_MS = 500;
/** An outcome that failed to commit on its own this many times, while the database answered, fails its task. */
const MAX_COMMIT_TRIES = 3;

/**
 * The worker's outcomes on their way to the database: buffered, committed in batches of up to
 * COMMIT_BATCH a few ms apart, one flush at a time, and kept (their tasks still leased) until they
 * are committed.
 */
export function createCommitter(opts: CommitterOptions) {
  const { log } = opts;
  const uncommitted = new Map<number, Outcome>();
  /** Task id → failed commits of its outcome on its own (see `isolate`). */
  const commitTries = new Map<number, number>();
  let flushing: Promise<void> | null = null;
  let flushTimer: NodeJS.Timeout | null = null;
  /** Moving average of how long a task took, claim to outcome (ms). */
  let taskMs = 0;
  const delayMs = () => Math.min(COMMIT_DELAY_MS.max, Math.max(COMMIT_DELAY_MS.min, COMMIT_DELAY_SHARE * taskMs));

  const settleFailed = (err: unknown, runId: string) => log.warn({ err: storageErrorSummary(err), runId }, 'ending a run failed; the reaper will end it');
  const commit = async (outcomes: Outcome[]) => {
    await commitOutcomes(opts.database.db, opts.workerId, outcomes, opts.hooks, settleFailed);
    // A batch answer that landed while its task was deferring found the task running, so its wake
    // missed: such a task is due now. After the commit, so a wake and this check cannot both miss.
    const deferred = outcomes.flatMap((o) => (o.type === 'deferred' ? [{ taskId: o.task.id, ...o.waitingFor }] : []));
    await dueIfAnswered(opts.database.db, deferred).catch((err) => log.warn({ err: storageErrorSummary(err) }, 'rechecking deferred tasks failed; they wait for their deferral'));
  };

  function schedule() {
    if (flushing || flushTimer) return;
    if (uncommitted.size >= COMMIT_BATCH) void flush();
    else flushTimer = setTimeout(() => void flush(), delayMs());
  }

  async function flush(): Promise<void> {
    if (flushTimer) clearTimeout(flushTimer);
    flushTimer = null;
    if (flushing) return flushing;
    const batch = [...uncommitted.values()].slice(0, COMMIT_BATCH);
    if (batch.length === 0) return;
    flushing = (async () => {
      try {
        await commit(batch);
        committed(batch);
      } catch (err) {
        // Outcomes stay buffered (and leased) and are committed on the next try; inserts are idempotent.
        log.error({ err: storageErrorSummary(err), batch: batch.length }, 'committing task outcomes failed; will retry');
        if (!(await isolate(batch))) await new Promise((r) => setTimeout(r, COMMIT_RETRY_MS));
      } finally {
        flushing = null;
      }
      if (uncommitted.size > 0) schedule();
      opts.onFlushed();
    })();
    return flushing;
  }

  /** Batches committed and the outcomes in them, since start: outcomes ÷ commits is the batching achieved. */
  const totals = { commits: 0, outcomes: 0 };

  function committed(batch: Outcome[]) {
    totals.commits++;
    totals.outcomes += batch.length;
    batch.forEach(forget);
    opts.metrics.tasksCompleted.inc(batch.filter((o) => o.type === 'succeeded').length);
  }

  function forget(o: Outcome) {
    uncommitted.delete(o.task.id);
    commitTries.delete(o.task.id);
  }

  /**
   * After a failed batch, and only if the database answers (else it is an outage: wait and retry
   * the batch), commits the outcomes one by one, so one that keeps failing cannot hold up the rest.
   * An outcome that failed alone MAX_COMMIT_TRIES times fails its task with category `storage` (or,
   * if even that cannot be stored, is dropped for the reaper). Returns whether the batch is settled.
   */
  async function isolate(batch: Outcome[]): Promise<boolean> {
    if (!(await opts.database.ping().then(() => true, () => false))) return false;
    let settled = true;
    for (const o of batch) {
      try {
        await commit([o]);
        committed([o]);
        continue;
      } catch (err) {
        const tries = (commitTries.get(o.task.id) ?? 0) + 1;
        commitTries.set(o.task.id, tries);
        log.error({ err: storageErrorSummary(err), taskId: o.task.id, runId: o.task.run_id, tries }, 'committing a task outcome failed on its own');
        if (tries < MAX_COMMIT_TRIES) {
          settled = false;
          continue;
        }
        const error = { category: 'storage', message: `the task's outcome could not be stored (${tries} tries): ${describeStorageError(err)}` };
        const failed: Outcome = { type: 'failed', task: o.task, error, usage: o.usage };
        const ok = await commit([failed]).then(() => true, () => false);
        if (!ok) {
          // Not even its failure can be stored: park it. Its lease runs out and the reaper queues it again.
          log.error({ taskId: o.task.id, runId: o.task.run_id }, 'parking a task outcome that cannot be stored');
        }
        forget(o);
      }
    }
    return settled;
  }

  return {
    /** Buffers an outcome (replacing any earlier one of the same task) for the next flush; `tookMs` is how long its task ran. */
    add(o: Outcome, tookMs = 0) {
      taskMs = taskMs === 0 ? tookMs : 0.9 * taskMs + 0.1 * tookMs;
      uncommitted.set(o.task.id, o);
      schedule();
    },
    /** Flushes until nothing is left or a flush settles nothing more (the database is out of reach). */
    async drain() {
      while (uncommitted.size > 0) {
        const before = uncommitted.size;
        await flush();
        if (uncommitted.size >= before) break;
      }
    },
    totals: () => ({ ...totals, delay_ms: Math.round(delayMs()) }),
    get size() {
      return uncommitted.size;
    },
    /** Tasks whose outcomes wait for a commit: their leases must be kept. */
    taskIds: () => [...uncommitted.keys()],
  };
}
