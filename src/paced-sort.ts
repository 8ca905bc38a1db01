import { pacer } from './pacer.js';

/** Items sorted natively at a time: ~1 ms of work, so a run never holds the event loop. */
const RUN = 2048;
/** Items merged between two looks at the clock. */
const STEP = 4096;

/**
 * `items.sort(compare)` (stable, same order) that yields to the event loop: runs of RUN items are
 * sorted natively, then merged pairwise, pausing whenever the pacer says so. A synchronous sort of
 * 300,000 planner entries held the loop for 2.7 s (bench/selection-runs.bench.ts, --cpu-prof); this
 * one never holds it longer than a run or a step. Sorts `items` in place and returns it.
 */
export async function sortPaced<T>(items: T[], compare: (a: T, b: T) => number, pace = pacer()): Promise<T[]> {
  const n = items.length;
  if (n <= RUN) return items.sort(compare);
  for (let i = 0; i < n; i += RUN) {
    const run = items.slice(i, i + RUN).sort(compare);
    for (let j = 0; j < run.length; j++) items[i + j] = run[j];
    await pace();
  }
  let from = items;
  let to: T[] = new Array<T>(n);
  for (let width = RUN; width < n; width *= 2) {
    let k = 0;
    for (let lo = 0; lo < n; lo += 2 * width) {
      const mid = Math.min(lo + width, n);
      const hi = Math.min(lo + 2 * width, n);
      let a = lo;
      let b = mid;
      while (a < mid || b < hi) {
        to[k++] = b >= hi || (a < mid && compare(from[a], from[b]) <= 0) ? from[a++] : from[b++];
        if (k % STEP === 0) await pace();
      }
    }
    [from, to] = [to, from];
  }
  if (from !== items) for (let i = 0; i < n; i++) items[i] = from[i];
  return items;
}
