import { RateLimited } from '../../src/rate-limited.js';

/** What a refused watcher is told to wait: a slot frees when one of its other streams ends. */
const RETRY_AFTER_SECONDS = 5;

/**
 * MAX_STREAMS_PER_KEY: at most `max` SSE and WebSocket streams of one key open at once in this
 * process (0 = no limit). Each open stream may hold up to SLOW_CLIENT_MAX_UNSENT_BYTES of unsent
 * events, so this is what bounds the memory one key's watchers can take.
 */
export function createStreamSlots(max: number) {
  const open = new Map<string, number>();
  return {
    /** Takes a slot for `owner` (a 429 when it has none left); returns its release, safe to call twice. */
    acquire(owner: string): () => void {
      const n = open.get(owner) ?? 0;
      if (max > 0 && n >= max) {
        throw new RateLimited(`this API key already has ${n} event streams open (the limit is ${max}); close one first`, [
          { field: 'Authorization', message: `at most ${max} SSE/WebSocket streams of one key may be open at once (MAX_STREAMS_PER_KEY)`, open: n, limit: max },
        ], RETRY_AFTER_SECONDS);
      }
      open.set(owner, n + 1);
      let held = true;
      return () => {
        if (!held) return;
        held = false;
        const left = (open.get(owner) ?? 1) - 1;
        if (left > 0) open.set(owner, left);
        else open.delete(owner);
      };
    },
  };
}

export type StreamSlots = ReturnType<typeof createStreamSlots>;
