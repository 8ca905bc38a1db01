import { describe, expect, it } from 'vitest';
import { groupedLoader } from '../../db/grouped-loader.js';

describe('groupedLoader', () => {
  it('sends a lone load at once, and the loads that come while a statement runs as the next one', async () => {
    const statements: number[][] = [];
    const releases: Array<() => void> = [];
    const loader = groupedLoader<number, number>(async (keys) => {
      statements.push([...keys]);
      await new Promise<void>((resolve) => releases.push(resolve));
      return keys.map((k) => k * 10);
    }, 3);
    const first = loader.load(1);
    await new Promise((r) => setImmediate(r));
    expect(statements).toEqual([[1]]);
    // Five loads in separate turns while the first statement runs: none goes yet.
    const later: Promise<number>[] = [];
    for (const k of [2, 3, 4, 5, 6]) {
      later.push(loader.load(k));
      await new Promise((r) => setImmediate(r));
    }
    expect(statements).toEqual([[1]]);
    releases.shift()!();
    expect(await first).toBe(10);
    await new Promise((r) => setImmediate(r));
    // Then they go together, split at the batch bound.
    expect(statements).toEqual([[1], [2, 3, 4], [5, 6]]);
    releases.splice(0).forEach((release) => release());
    expect(await Promise.all(later)).toEqual([20, 30, 40, 50, 60]);
  });

  it('passes a per-key error to its caller only', async () => {
    const loader = groupedLoader<number, number>(async (keys) => keys.map((k) => (k === 2 ? new Error('two') : k)), 10);
    const results = await Promise.allSettled([loader.load(1), loader.load(2), loader.load(3)]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  });
});
