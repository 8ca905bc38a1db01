import pLimit, { type LimitFunction } from 'p-limit';
import { modelLabel, type Metrics } from '../metrics.js';
import { toLlmError } from './llm.errors.js';
import type { CacheMode } from './llm-settings.js';
import type { Provider } from './providers.js';
import type { Rejects, TeacherRequest, TeacherResponse } from './teacher-request.js';

/**
 * Whose call it is: set by the worker for every task (`LlmClient.bind`), absent for calls outside
 * a task (tests, scripts). Middleware that keeps answers (the cache, batches) scopes them by owner.
 */
export interface CallContext {
  owner: string;
  runId: string;
  taskId: number;
  taskKey: string;
  /** The task's attempt (1, the first, when absent): a retry is not answered with what its failed attempt was answered. */
  attempt?: number;
}

/** A request on its way to a provider: who answers it, and the request with every schema already in wire form. */
export interface ResolvedCall {
  provider: Provider;
  model: string;
  request: TeacherRequest;
  /** Absent when the caller takes any answer. */
  rejects?: Rejects;
  /** The job's `llm.cache` and `llm.mode`, defaults filled in. */
  cache: CacheMode;
  mode: 'online' | 'batch';
  context?: CallContext;
  /**
   * What determines the answer, hashed (src/llm/call-key.ts): the cache's and the batch table's key.
   * Present when the call has a context.
   */
  key?: string;
}

export type TeacherCall = (call: ResolvedCall, signal: AbortSignal) => Promise<TeacherResponse>;

/** Wraps every teacher call: may look at or rewrite the call, answer it itself, or pass it on to `next`. */
export type TeacherMiddleware = (next: TeacherCall) => TeacherCall;

/** The first middleware is the outermost: it sees the call first and the answer last. */
export const compose = (middleware: TeacherMiddleware[], last: TeacherCall): TeacherCall =>
  middleware.reduceRight<TeacherCall>((next, wrap) => wrap(next), last);

/** Each provider's request slots (`max_concurrency`), shared by its teacher calls and its embedding calls. */
export type ProviderSlots = (provider: Provider) => LimitFunction;

export function providerSlots(): ProviderSlots {
  const limits = new Map<string, LimitFunction>();
  return (provider) => {
    let limit = limits.get(provider.name);
    if (!limit) limits.set(provider.name, (limit = pLimit(provider.maxConcurrency)));
    return limit;
  };
}

/** At most `provider.maxConcurrency` requests in flight per provider; waiting calls still honour their signal. */
export function concurrencyLimit(slots: ProviderSlots = providerSlots()): TeacherMiddleware {
  return (next) => (call, signal) => {
    return slots(call.provider)(() => {
      signal.throwIfAborted();
      return next(call, signal);
    });
  };
}

/** quarry_llm_requests_total by outcome, tokens and latency (including the wait for a provider slot). */
export function teacherMetrics(metrics: Metrics): TeacherMiddleware {
  return (next) => async (call, signal) => {
    const provider = call.provider.name;
    const model = modelLabel(call.provider, call.model);
    const started = performance.now();
    let response: TeacherResponse;
    try {
      response = await next(call, signal);
    } catch (err) {
      metrics.llmRequests.inc({ provider, model, outcome: toLlmError(err, signal).category });
      throw err;
    }
    metrics.llmLatency.observe({ provider }, (performance.now() - started) / 1000);
    metrics.llmTokens.inc({ provider, direction: 'input' }, response.usage.input);
    metrics.llmTokens.inc({ provider, direction: 'output' }, response.usage.output);
    const outcome = response.finish === 'refusal' ? 'refusal' : (call.rejects?.(response) ?? (response.finish === 'length' ? 'length' : 'ok'));
    metrics.llmRequests.inc({ provider, model, outcome });
    return response;
  };
}
