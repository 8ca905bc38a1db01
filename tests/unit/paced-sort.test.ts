import { describe, expect, it } from 'vitest';
import { sortPaced } from '../../src/paced-sort.js';

/** A seeded PRNG, so a failure reproduces. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

describe('sortPaced', () => {
  it.each([0, 1, 2047, 2048, 2049, 10_000, 65_537])('sorts %i items exactly as Array.prototype.sort does, stably', async (n) => {
    const next = rng(n + 1);
    // Few distinct keys, so stability is tested: equal keys keep their input order.
    const items = Array.from({ length: n }, (_, i) => ({ key: Math.floor(next() * 50), i }));
    const expected = [...items].sort((a, b) => a.key - b.key);
    const sorted = await sortPaced(items, (a, b) => a.key - b.key);
    expect(sorted).toBe(items);
    expect(sorted.map((x) => x.i)).toEqual(expected.map((x) => x.i));
  });

  it('yields to the event loop while it sorts a big array', async () => {
    const next = rng(7);
    const items = Array.from({ length: 200_000 }, () => next());
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    await sortPaced(items, (a, b) => a - b, () => new Promise<void>((resolve) => setTimeout(resolve, 0)));
    clearInterval(timer);
    expect(ticks).toBeGreaterThan(10);
    expect(items.every((v, i) => i === 0 || items[i - 1] <= v)).toBe(true);
  });
});
