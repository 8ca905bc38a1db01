/** Exponential backoff with "equal jitter": never less than half the step, so retries spread but still wait. */
export function backoffMs(attempt: number, options: { baseMs?: number; capMs?: number; random?: () => number } = {}): number {
  const base = options.baseMs ?? 1000;
  const cap = options.capMs ?? 60_000;
  const step = Math.min(cap, base * 2 ** Math.max(0, attempt - 1));
  return Math.round(step / 2 + (options.random ?? Math.random)() * (step / 2));
}
