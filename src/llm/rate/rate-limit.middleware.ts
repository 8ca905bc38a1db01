import { setTimeout as sleep } from 'node:timers/promises';
import { LlmError } from '../llm.errors.js';
import type { ResolvedCall, TeacherMiddleware } from '../middleware.js';
import type { TokenCount } from '../usage.js';
import { bucketDims, type BucketDims } from './limits.js';
import type { ProviderRate, RateControl } from './rate-control.js';

/**
 * A call's own 429s, retried here (the SDK is told not to retry them, src/llm/fetch.ts) so each one
 * is seen by AIMD, the breaker and the metrics. Waits on the open breaker do not count.
 */
export const RATE_LIMIT_ATTEMPTS = 10;
/** Retry-After when a 429 names none. */
const DEFAULT_RETRY_MS = 1_000;

/**
 * Sits between `teacherMetrics` and the concurrency slots: a call first waits for the provider's
 * breaker, then reserves its request and estimated tokens from the shared bucket and waits off any
 * debt, then goes; a 429 halves the provider's concurrency (AIMD) and is retried after Retry-After;
 * the answer's real token counts settle the estimate.
 */
export function rateLimit(rate: RateControl): TeacherMiddleware {
  return (next) => async (call, signal) => {
    const p = rate.state(call.provider);
    for (let attempt = 1; ; attempt++) {
      const began = performance.now();
      const probe = await p.breaker.pass(call.context?.runId, signal);
      try {
        const reserved = await reserve(rate, p, call, signal);
        rate.waited(call.provider, performance.now() - began);
        const sentAt = performance.now();
        try {
          const response = await next(call, signal);
          p.aimd.succeeded();
          p.noteOutput(response.usage.output);
          if (reserved) settle(rate, p, reserved, response.usage);
          return response;
        } catch (err) {
          if (!(err instanceof LlmError) || err.category !== 'rate_limit') throw err;
          p.aimd.limited(sentAt);
          if (attempt >= RATE_LIMIT_ATTEMPTS) throw err;
          await pause(err.options.retryAfterMs ?? DEFAULT_RETRY_MS, signal);
        }
      } finally {
        if (probe) p.breaker.probeEnded();
      }
    }
  };
}

interface Reservation {
  estimate: TokenCount;
}

/** Takes the call's share of every limited dimension and waits off the debt; undefined when tokens are not limited. */
async function reserve(rate: RateControl, p: ProviderRate, call: ResolvedCall, signal: AbortSignal): Promise<Reservation | undefined> {
  const limits = p.limits();
  const tokens = limits.tpm !== undefined || limits.input_tpm !== undefined || limits.output_tpm !== undefined;
  // Only a token limit is worth the tokenizer's time.
  const estimate = tokens ? { input: rate.estimateInput(call.model, call.request), output: Math.min(p.outputEstimate(), call.request.max_tokens ?? Infinity) } : { input: 0, output: 0 };
  const dims = bucketDims(limits, estimate);
  if (Object.keys(dims).length === 0) return undefined;
  let wait: number;
  try {
    wait = await rate.store.take(p.bucket, dims);
  } catch (err) {
    // The limits are ours to keep, not the provider's: without the store, calls go and the provider's 429s still pace them.
    rate.log?.warn({ err, provider: p.provider.name }, 'rate bucket unavailable; calling unpaced');
    return undefined;
  }
  if (wait > 0) {
    try {
      await pause(wait, signal);
    } catch (err) {
      giveBack(rate, p, dims);
      throw err;
    }
  }
  return tokens ? { estimate } : undefined;
}

/** The estimate was a guess: give back what the answer did not use, or take what it used beyond. */
function settle(rate: RateControl, p: ProviderRate, reserved: Reservation, used: TokenCount) {
  const dims = bucketDims(p.limits(), { input: reserved.estimate.input - used.input, output: reserved.estimate.output - used.output }, 0);
  delete dims.requests;
  if (Object.keys(dims).length > 0) giveBack(rate, p, dims);
}

function giveBack(rate: RateControl, p: ProviderRate, dims: BucketDims) {
  rate.store.give(p.bucket, dims).catch((err) => rate.log?.warn({ err, provider: p.provider.name }, 'returning rate budget failed'));
}

async function pause(ms: number, signal: AbortSignal): Promise<void> {
  try {
    await sleep(ms, undefined, { signal });
  } catch {
    throw new LlmError('canceled', 'request aborted while waiting for rate budget');
  }
}
