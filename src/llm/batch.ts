import type { FailureCategory } from './llm.errors.js';
import { LlmError } from './llm.errors.js';
import type { TeacherMiddleware } from './middleware.js';
import type { Provider } from './providers.js';
import type { TeacherRequest, TeacherResponse } from './teacher-request.js';

/** What the batch middleware knows of a call's batch item (db/batch-items.repository.ts keeps them). */
export type BatchItemView =
  | { state: 'pending' | 'submitted' }
  /** `firstRead`: this read is the answer's first, which carries its tokens and cost. */
  | { state: 'done'; response: TeacherResponse; firstRead: boolean }
  | { state: 'failed'; error: { category: FailureCategory; message: string } };

export interface NewBatchItem {
  owner: string;
  key: string;
  runId: string;
  taskId: number;
  provider: string;
  model: string;
  request: TeacherRequest;
}

/** The batch tables as the middleware needs them; implemented in db/, wired in src/quarry.ts. */
export interface BatchItemStore {
  /**
   * The item of `key`, if any. An item left by a run that has ended is this run's to ask again if it
   * failed, or if `fresh` (the call takes no stored answer: `cache` is not `use`); then it is pending.
   */
  find(owner: string, key: string, asker: { runId: string; taskId: number; fresh: boolean }): Promise<BatchItemView | undefined>;
  /** Records the call to be batched; a call already recorded (pending, submitted, done) is left as it is. */
  enqueue(item: NewBatchItem): Promise<void>;
  /**
   * Takes a failed item's failure and forgets the item, so the attempt that reads it fails with it
   * and a retry of the task asks (and batches) the call afresh. Undefined if another reader took it first.
   */
  takeFailure(owner: string, key: string): Promise<{ category: FailureCategory; message: string } | undefined>;
}

/**
 * Thrown when a call's answer is not there yet: the task gives up this attempt and the worker puts
 * it back in the queue for `retryAfterMs`, uncharged (src/queue/worker.ts). Its category is
 * `canceled` so no job code mistakes it for a failure of the teacher and falls back on something
 * else (they all rethrow `canceled`).
 */
export class BatchDeferred extends LlmError {
  constructor(
    delayMs: number,
    /** The call whose answer is awaited: the commit that defers the task checks it was not answered meanwhile. */
    readonly waitingFor: { owner: string; key: string },
  ) {
    super('canceled', 'waiting for a provider batch', { retryAfterMs: delayMs });
    this.name = 'BatchDeferred';
  }
}

/** Categories whose line failure is worth another attempt of the task (which batches the call again). */
const RETRYABLE: ReadonlySet<FailureCategory> = new Set(['api', 'rate_limit', 'timeout']);

/**
 * The built-in OpenAI-compatible providers whose endpoints have no Batch API (Ollama, Gemini's and
 * OpenRouter's OpenAI-compatible endpoints): their batch-mode calls go online.
 */
const ONLINE_ONLY = new Set(['ollama', 'gemini', 'openrouter']);

/**
 * Whether a provider's endpoint has a batch API (src/llm/batch-api.ts): Anthropic's Message Batches,
 * or OpenAI's Batch API for every `openai`-kind provider but the built-in compatible ones above.
 */
export const hasBatchApi = (provider: Provider): boolean => provider.kind === 'anthropic' || (provider.kind === 'openai' && !ONLINE_ONLY.has(provider.name));

export interface BatchModeOptions {
  store: BatchItemStore;
  /** How long a deferred task waits before it looks again (the poller wakes it sooner when its answer lands). */
  deferMs: number;
  /** Providers whose endpoint has a batch API; others answer batch-mode calls online. Default: `hasBatchApi`. */
  batches?: (provider: Provider) => boolean;
}

/**
 * `llm.mode: "batch"`: a task's call is answered from its batch item once the provider's batch has
 * answered it, and until then recorded and deferred (the task is run again later, from the top; its
 * earlier calls answer from their items at once). Calls outside a task (no context) and calls to a
 * provider without a batch API go online, as `mode: "online"`.
 */
export function batchMode(opts: BatchModeOptions): TeacherMiddleware {
  const batches = opts.batches ?? hasBatchApi;
  return (next) => async (call, signal) => {
    const { context, key } = call;
    if (call.mode !== 'batch' || !context || !key || !batches(call.provider)) return next(call, signal);
    const item = await opts.store.find(context.owner, key, { runId: context.runId, taskId: context.taskId, fresh: call.cache !== 'use' });
    // Read again (the task runs again after a deferral, or an identical run asks): no new request, like a cache hit.
    if (item?.state === 'done') return item.firstRead ? { ...item.response, via: 'batch' } : { ...item.response, usage: { input: 0, output: 0 }, via: 'cache' };
    if (item?.state === 'failed') {
      const failure = await opts.store.takeFailure(context.owner, key);
      if (failure) throw new LlmError(failure.category, `batch line failed: ${failure.message}`, { retryable: RETRYABLE.has(failure.category) });
    }
    signal.throwIfAborted();
    if (!item || item.state === 'failed') {
      await opts.store.enqueue({ owner: context.owner, key, runId: context.runId, taskId: context.taskId, provider: call.provider.name, model: call.model, request: call.request });
    }
    throw new BatchDeferred(opts.deferMs, { owner: context.owner, key });
  };
}

/**
 * How long a deferred task waits before it looks again without being woken: ten polls, within 30 s
 * and 5 minutes. The poller wakes the task that asked as soon as its answer lands, so this only
 * paces tasks waiting on a call another task asked first. Looking more often would cost a claim and
 * a commit each for nothing, and a task running when its worker dies is charged an attempt and asks
 * its calls again under new keys (call-key.ts): a waiting task should not be running.
 */
export const deferralMs = (pollMs: number) => Math.min(Math.max(10 * pollMs, 30_000), 300_000);
