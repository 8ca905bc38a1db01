import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import type { Logger } from 'pino';
import { dropEndedItems, pruneBatches, refreshRunBatchState } from '../../db/batch-runs.repository.js';
import {
  batchLines, claimBatches, endBatch, itemIdOf, markSubmitted, openBatch, pendingGroups, saveProgress,
  type LineOutcome, type OpenBatch,
} from '../../db/batches.repository.js';
import type { Database } from '../../db/client.js';
import { batchLimits, lineBytes, type BatchApi, type BatchLine, type BatchLineResult, type BatchStatus } from '../llm/batch-api.js';
import { LlmError } from '../llm/llm.errors.js';
import type { Provider, ProviderRegistry } from '../llm/providers.js';
import type { Metrics } from '../metrics.js';

export interface BatchRunnerOptions {
  database: Database;
  api: BatchApi;
  providers: ProviderRegistry;
  log: Logger;
  metrics: Pick<Metrics, 'batches' | 'batchItems'>;
  /** A group of pending calls is submitted once its oldest waited this long (or it fills a batch). */
  windowMs: number;
  /** How often a submitted batch is polled. */
  pollMs: number;
  /** How long a submitter may take to hand a batch to the provider before others recover it. */
  submitLeaseMs: number;
}

/** Both providers finish a batch within 24 hours: the expected end until its lines say otherwise. */
const COMPLETION_WINDOW_MS = 24 * 3600_000;
/** Batches one tick recovers or polls, per kind: a tick stays short, the next takes the rest. */
const PER_TICK = 16;

/**
 * The batch submitter and poller, one per worker process, all sharing the work through the
 * database (db/batches.repository.ts): every tick it drops the pending calls of ended runs, recovers
 * batches whose submitter died, submits each provider and model's pending calls once a batch is full
 * or its oldest call waited `windowMs`, polls submitted batches (canceling those no run in flight
 * needs), writes their answers and wakes the deferred tasks, and refreshes the runs' `output.batch`.
 */
export function createBatchRunner(opts: BatchRunnerOptions) {
  const { db } = opts.database;
  const log = opts.log.child({ component: 'batches' });
  /**
   * Aborts the provider calls of the round in flight when the worker stops. One per round: every
   * call leaves an abort listener on it until the round ends (a round makes a few dozen at most).
   */
  let stopping = new AbortController();
  let stopped = false;
  const tickMs = Math.max(50, Math.min(1000, opts.windowMs / 2, opts.pollMs / 2));
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;

  // Sweeps over all of a table's open rows run less often than the tick: the runs' view and the
  // drop of ended runs' calls once a poll interval (at most 5 s), retention once a minute.
  const every = (ms: number) => {
    let last = 0;
    return () => {
      if (Date.now() - last < ms) return false;
      last = Date.now();
      return true;
    };
  };
  const sweepDue = every(Math.min(opts.pollMs, 5000));
  const pruneDue = every(60_000);

  async function tick() {
    stopping = new AbortController();
    setMaxListeners(100, stopping.signal);
    const sweep = sweepDue();
    if (sweep) {
      const dropped = await dropEndedItems(db);
      if (dropped > 0) log.info({ dropped }, 'dropped the pending batch calls of ended runs');
    }
    if (pruneDue()) await pruneBatches(db);
    await recover();
    await flush();
    await poll();
    if (sweep) await refreshRunBatchState(db);
  }

  /**
   * A dead submitter's `submitting` batch: found at the provider by its local id, or submitted now.
   * A `find` that cannot tell yet (Anthropic shows a batch's custom_ids only once it ends) throws:
   * the batch waits for its next lease, and is never submitted blind.
   */
  async function recover() {
    for (const b of await claimBatches(db, 'submitting', opts.submitLeaseMs, PER_TICK)) {
      const provider = opts.providers.get(b.provider);
      if (!provider) continue;
      await recoverOne(provider, b).catch((err: unknown) => log.warn({ err, batch: b.id }, 'recovering a batch failed; trying again after its lease'));
    }
  }

  async function recoverOne(provider: Provider, b: OpenBatch) {
    // The provider's clock is not ours: look a minute before the row was written.
    const since = new Date(new Date(b.created_at).getTime() - 60_000);
    const found = await opts.api.find(provider, b.id, since, stopping.signal);
    if (found) {
      await markSubmitted(db, b.id, found, COMPLETION_WINDOW_MS);
      opts.metrics.batches.inc({ provider: provider.name, event: 'recovered' });
      log.warn({ batch: b.id, providerBatchId: found }, 'recovered a batch its submitter left unrecorded');
      return;
    }
    const lines = await batchLines(db, b.id, b.model);
    if (lines.length === 0) await endBatch(db, b.id, 'canceled', [], { category: 'canceled', message: 'no call of the batch is wanted any more' });
    else await submit(provider, b.id, lines);
  }

  async function flush() {
    for (const group of await pendingGroups(db)) {
      const provider = opts.providers.get(group.provider);
      if (!provider) continue;
      const limits = batchLimits(provider);
      if (group.count < limits.maxLines && group.waited_ms < opts.windowMs) continue;
      const fit = (lines: BatchLine[]) => fitting(provider, lines, limits.maxBytes);
      const id = `qb_${randomBytes(12).toString('hex')}`;
      const opened = await openBatch(db, { id, provider: provider.name, model: group.model, maxLines: limits.maxLines, leaseMs: opts.submitLeaseMs, fit });
      if (opened) await submit(provider, opened.id, opened.lines);
    }
  }

  /**
   * Hands a batch written `submitting` to the provider and records its id. A failure the provider
   * stated (a refused batch) ends it and sends its calls round again (once); any other (a timeout, a
   * lost connection: the provider may have it) leaves it to `recover`, which asks before submitting.
   */
  async function submit(provider: Provider, id: string, lines: BatchLine[]) {
    const signal = AbortSignal.any([stopping.signal, AbortSignal.timeout(opts.submitLeaseMs / 2)]);
    try {
      const { providerBatchId } = await opts.api.submit(provider, lines, id, signal);
      await markSubmitted(db, id, providerBatchId, COMPLETION_WINDOW_MS);
      opts.metrics.batches.inc({ provider: provider.name, event: 'submitted' });
      opts.metrics.batchItems.inc({ provider: provider.name, outcome: 'submitted' }, lines.length);
      log.info({ batch: id, providerBatchId, lines: lines.length, provider: provider.name }, 'submitted a batch');
    } catch (err) {
      if (!(err instanceof LlmError) || err.options.retryable || err.category === 'canceled') {
        log.warn({ err, batch: id }, 'submitting a batch failed; it is recovered after its lease');
        return;
      }
      await endBatch(db, id, 'failed', [], { category: err.category, message: `the provider refused the batch: ${err.message}` });
      opts.metrics.batches.inc({ provider: provider.name, event: 'failed' });
      log.error({ err, batch: id }, 'the provider refused a batch');
    }
  }

  async function poll() {
    for (const b of await claimBatches(db, 'submitted', opts.pollMs, PER_TICK)) {
      const provider = opts.providers.get(b.provider);
      if (!provider || !b.provider_batch_id) continue;
      // One batch's failure (the provider unreachable) waits for its next poll; the others go on.
      const step = b.orphaned ? cancel(provider, b, b.provider_batch_id) : check(provider, b, b.provider_batch_id);
      await step.catch((err: unknown) => log.warn({ err, batch: b.id }, 'polling a batch failed; trying again next poll'));
    }
  }

  /** No run in flight wants the batch's calls (their runs were canceled): the provider stops it. */
  async function cancel(provider: Provider, b: OpenBatch, providerBatchId: string) {
    await opts.api.cancel(provider, providerBatchId, stopping.signal);
    await endBatch(db, b.id, 'canceled', [], { category: 'canceled', message: 'the batch was canceled with its runs' });
    opts.metrics.batches.inc({ provider: provider.name, event: 'canceled' });
    log.info({ batch: b.id, providerBatchId }, 'canceled a batch no run wants any more');
  }

  async function check(provider: Provider, b: OpenBatch, providerBatchId: string) {
    const status = await opts.api.status(provider, providerBatchId, stopping.signal);
    if (status.state === 'in_progress') {
      await saveProgress(db, b.id, status.counts, expectedEnd(b, status));
      return;
    }
    // An expired, failed or canceled batch may still have answers for some lines; an ended one must.
    const results = await opts.api.results(provider, providerBatchId, stopping.signal).catch((err: unknown) => {
      if (status.state === 'ended') throw err;
      return [];
    });
    const unanswered = { category: status.state === 'expired' ? 'timeout' : 'api', message: `the provider's batch ${status.state} without answering this call (twice)` };
    const written = await endBatch(db, b.id, status.state, lineOutcomes(results), unanswered);
    opts.metrics.batches.inc({ provider: provider.name, event: status.state });
    opts.metrics.batchItems.inc({ provider: provider.name, outcome: 'succeeded' }, written.succeeded);
    opts.metrics.batchItems.inc({ provider: provider.name, outcome: 'errored' }, written.errored);
    opts.metrics.batchItems.inc({ provider: provider.name, outcome: 'requeued' }, written.requeued);
    log.info({ batch: b.id, providerBatchId, state: status.state, ...written }, 'a batch ended');
  }

  function run() {
    if (running || stopped) return;
    running = tick()
      .catch((err) => log.warn({ err }, 'a batch round failed; trying again next tick'))
      .finally(() => (running = undefined));
  }

  return {
    start() {
      timer = setInterval(run, tickMs);
      timer.unref();
    },
    /** A tick run now (a cancel arrived, a test wants it): skipped if one is running. */
    kick: run,
    async stop() {
      clearInterval(timer);
      stopped = true;
      stopping.abort(new Error('worker stopping'));
      await running;
    },
  };
}

/** How many of `lines`, from the first, fit in `maxBytes` of the provider's batch payload (at least one). */
function fitting(provider: Provider, lines: BatchLine[], maxBytes: number): number {
  let bytes = 0;
  for (let i = 0; i < lines.length; i++) {
    bytes += lineBytes(provider, lines[i]);
    if (bytes > maxBytes) return Math.max(1, i);
  }
  return lines.length;
}

/** A line canceled or expired at the provider goes round again; any other error is the call's answer. */
function lineOutcomes(results: BatchLineResult[]): LineOutcome[] {
  return results.flatMap((r): LineOutcome[] => {
    const itemId = itemIdOf(r.custom_id);
    if (itemId === undefined) return [];
    if (r.response) return [{ itemId, response: r.response }];
    const error = r.error ?? { category: 'api' as const, message: 'the provider returned no answer for this line' };
    if (error.category === 'canceled' || error.category === 'timeout') return [{ itemId, again: true }];
    return [{ itemId, error }];
  });
}

/** The batch's end, extrapolated from the share of its lines already answered; undefined before any is. */
function expectedEnd(b: OpenBatch, status: BatchStatus): Date | undefined {
  const { total, succeeded, errored } = status.counts;
  const finished = succeeded + errored;
  if (!b.submitted_at || finished === 0 || total === 0) return undefined;
  const start = new Date(b.submitted_at).getTime();
  return new Date(start + ((Date.now() - start) * total) / finished);
}
