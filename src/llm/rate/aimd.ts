/**
 * Additive increase, multiplicative decrease of one provider's concurrency (as TCP does with its
 * window): a 429 halves it, a run of successes as long as the current concurrency adds one, between
 * 1 and the provider's `max_concurrency`. A 429 of a call sent before the last cut does not cut
 * again: a burst of 429s from one wave of calls is one signal, not eight.
 */
export function createAimd(max: number, apply: (concurrency: number) => void, now: () => number = () => performance.now()) {
  let current = max;
  let streak = 0;
  let cutAt = -Infinity;
  return {
    get concurrency() {
      return current;
    },
    /** A 429 for a call sent at `sentAt`. */
    limited(sentAt: number) {
      streak = 0;
      if (sentAt < cutAt) return;
      cutAt = now();
      const next = Math.max(1, Math.floor(current / 2));
      if (next !== current) apply((current = next));
    },
    succeeded() {
      if (current >= max) return;
      if (++streak < current) return;
      streak = 0;
      apply((current += 1));
    },
  };
}

export type Aimd = ReturnType<typeof createAimd>;
