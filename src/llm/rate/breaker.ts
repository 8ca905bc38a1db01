import { LlmError } from '../llm.errors.js';

export type BreakerState = 'closed' | 'open' | 'half_open';
export type BreakerReason = 'rate_limited' | 'server_errors';

export interface BreakerOptions {
  /** Consecutive failed answers (429 or 5xx) that open it. */
  threshold: number;
  /** First pause (or the provider's Retry-After, when longer); doubles on each failed probe, up to `capMs`. */
  baseMs: number;
  capMs: number;
  onState?(state: BreakerState): void;
  /** Runs whose calls wait: told when it opens (with the reason and the pause) and when it closes. */
  onThrottled?(runIds: string[], info: { reason: BreakerReason; pause_ms: number; failures: number }): void;
  onResumed?(runIds: string[], info: { paused_ms: number }): void;
}

interface Waiter {
  release(): void;
}

/**
 * One provider's circuit breaker. Closed: calls pass. Open: calls wait on a promise — no polling —
 * until the pause ends, then one call goes as a probe (half-open) while the rest keep waiting; any
 * good answer closes it and releases everyone, a failed probe opens it again with twice the pause.
 * Each waiting run hears `throttled` once per opening and `resumed` once at the close, so a paused
 * run is never silent. Waiting calls honour their abort signal.
 */
export function createBreaker(options: BreakerOptions, now: () => number = () => Date.now()) {
  let state: BreakerState = 'closed';
  let failures = 0;
  let opens = 0;
  let reason: BreakerReason = 'rate_limited';
  let retryAfterMs = 0;
  let pauseEnds = 0;
  let openedAt = 0;
  let probing = false;
  let timer: NodeJS.Timeout | undefined;
  const waiters: Waiter[] = [];
  const told = new Set<string>();

  const setState = (next: BreakerState) => {
    state = next;
    options.onState?.(next);
  };

  const open = () => {
    opens += 1;
    const pause = Math.min(options.capMs, Math.max(options.baseMs, retryAfterMs) * 2 ** (opens - 1));
    if (state === 'closed') openedAt = now();
    setState('open');
    probing = false;
    pauseEnds = now() + pause;
    clearTimeout(timer);
    timer = setTimeout(halfOpen, pause);
    timer.unref?.();
    if (told.size > 0) options.onThrottled?.([...told], { reason, pause_ms: pause, failures });
  };

  const halfOpen = () => {
    setState('half_open');
    probing = false;
    nextProbe();
  };

  const nextProbe = () => {
    if (state !== 'half_open' || probing) return;
    const waiter = waiters.shift();
    if (!waiter) return;
    probing = true;
    waiter.release();
  };

  const close = () => {
    clearTimeout(timer);
    setState('closed');
    opens = 0;
    probing = false;
    if (told.size > 0) options.onResumed?.([...told], { paused_ms: now() - openedAt });
    told.clear();
    for (const waiter of waiters.splice(0)) waiter.release();
  };

  return {
    get state() {
      return state;
    },
    /** An answer from the provider: 2xx/4xx are good, 429 and 5xx are failures. */
    record(outcome: 'ok' | BreakerReason, retryAfter?: number) {
      if (outcome === 'ok') {
        failures = 0;
        if (state !== 'closed') close();
        return;
      }
      failures += 1;
      reason = outcome;
      retryAfterMs = retryAfter ?? 0;
      if (state === 'half_open' || (state === 'closed' && failures >= options.threshold)) open();
    },
    /**
     * Resolves when the call may go: at once when closed; after the pause otherwise. True when the
     * call is the half-open probe: it must call `probeEnded()` if it ends without an answer.
     */
    async pass(runId: string | undefined, signal: AbortSignal): Promise<boolean> {
      if (state === 'closed') return false;
      if (state === 'half_open' && !probing) return (probing = true);
      if (runId && !told.has(runId)) {
        told.add(runId);
        options.onThrottled?.([runId], { reason, pause_ms: Math.max(0, pauseEnds - now()), failures });
      }
      signal.throwIfAborted();
      return new Promise<boolean>((resolve, reject) => {
        const waiter: Waiter = {
          release: () => {
            signal.removeEventListener('abort', onAbort);
            resolve(state === 'half_open');
          },
        };
        const onAbort = () => {
          const at = waiters.indexOf(waiter);
          if (at >= 0) waiters.splice(at, 1);
          reject(new LlmError('canceled', 'request aborted while the provider was paused'));
        };
        signal.addEventListener('abort', onAbort, { once: true });
        waiters.push(waiter);
      });
    },
    /** The probe ended without an answer (canceled, timed out): let the next waiter probe. */
    probeEnded() {
      if (state === 'half_open' && probing) {
        probing = false;
        nextProbe();
      }
    },
    /** The queue of waiting calls, for tests and metrics. */
    get waiting() {
      return waiters.length;
    },
    stop() {
      clearTimeout(timer);
    },
  };
}

export type Breaker = ReturnType<typeof createBreaker>;
