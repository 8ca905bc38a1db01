import { RunQuotaExceeded } from '../../db/quotas.repository.js';
import { RateLimited } from '../../src/rate-limited.js';

/** What a refused caller is told to wait: runs take a while to finish, so no tighter figure exists. */
export const RUN_QUOTA_RETRY_AFTER_SECONDS = 30;

const overQuota = (inFlight: number, max: number) =>
  new RateLimited(`this API key already has ${inFlight} runs queued or running (the limit is ${max}); retry when some have finished`, [
    { field: 'Authorization', message: `at most ${max} runs of one key may be queued or running at once (MAX_RUNS_IN_FLIGHT_PER_KEY)`, in_flight: inFlight, limit: max },
  ], RUN_QUOTA_RETRY_AFTER_SECONDS);

/** `.catch` for the run insert: the repository's quota refusal becomes a 429 with Retry-After. */
export function rethrowOverQuota(err: unknown): never {
  if (err instanceof RunQuotaExceeded) throw overQuota(err.inFlight, err.max);
  throw err;
}
