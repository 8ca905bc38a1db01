import type { BucketDim, BucketDims } from './limits.js';

export const BUCKET_COLUMNS = ['requests', 'tokens', 'input_tokens', 'output_tokens'] as const;

/**
 * Token buckets (requests and tokens per provider endpoint) shared by every worker process that
 * uses the same store: db/rate-buckets.repository.ts keeps them in Postgres, so limits hold across
 * machines. A take is a reservation: the balance may go below zero, and the taker waits off its
 * share of the debt before sending — one round trip per call, no polling, and callers queue in the
 * order they reserved.
 */
export interface RateBucketStore {
  /** Refills by the time passed, subtracts each dim's amount; resolves to the milliseconds to wait before sending. */
  take(key: string, dims: BucketDims): Promise<number>;
  /** Gives amounts back (a canceled reservation, an estimate above the usage) or takes more (a negative amount); never above a dim's burst. */
  give(key: string, dims: BucketDims): Promise<void>;
}

/** How long the reservation that left these balances must wait: the slowest dimension's debt. */
export function waitFor(balances: Partial<Record<(typeof BUCKET_COLUMNS)[number], number>>, dims: BucketDims): number {
  let wait = 0;
  for (const column of BUCKET_COLUMNS) {
    const dim = dims[column];
    const balance = balances[column];
    if (dim && balance !== undefined && balance < 0) wait = Math.max(wait, (-balance / dim.rate) * 1000);
  }
  return Math.ceil(wait);
}

/** One process's buckets, for clients without a database (scripts, unit tests). */
export function memoryBucketStore(now: () => number = () => performance.now()): RateBucketStore {
  const buckets = new Map<string, { at: number; level: Record<string, number> }>();
  const refill = (key: string, dims: BucketDims) => {
    const t = now();
    let b = buckets.get(key);
    if (!b) buckets.set(key, (b = { at: t, level: {} }));
    const elapsed = Math.max(0, t - b.at) / 1000;
    b.at = Math.max(b.at, t);
    for (const column of BUCKET_COLUMNS) {
      const dim: BucketDim | undefined = dims[column];
      // Empty at first, like the shared store: the provider's window may be spent already.
      if (dim) b.level[column] = Math.min(dim.burst, (b.level[column] ?? 0) + dim.rate * elapsed);
    }
    return b;
  };
  return {
    async take(key, dims) {
      const b = refill(key, dims);
      for (const column of BUCKET_COLUMNS) if (dims[column]) b.level[column] -= dims[column].amount;
      return waitFor(b.level, dims);
    },
    async give(key, dims) {
      const b = refill(key, dims);
      for (const column of BUCKET_COLUMNS) if (dims[column]) b.level[column] = Math.min(dims[column].burst, b.level[column] + dims[column].amount);
    },
  };
}
