import { describe, it, expect } from 'vitest';
import { MAX_PAIRS_PER_CHUNK, planPairs, spreadIndices } from '../../services/generate/pair-plan.js';

const sum = (plan: Array<{ pairs: number }>) => plan.reduce((s, p) => s + p.pairs, 0);
const indices = (plan: Array<{ index: number }>) => plan.map((p) => p.index);

function expectEvenSpread(idx: number[], count: number) {
  expect(idx[0]).toBe(0);
  expect(idx.every((v, i) => i === 0 || v > idx[i - 1])).toBe(true);
  expect(idx.at(-1)!).toBeLessThan(count);
  const gaps = [...idx.slice(1), count].map((v, i) => v - idx[i]);
  expect(Math.max(...gaps) - Math.min(...gaps)).toBeLessThanOrEqual(1);
}

describe('planPairs', () => {
  it('returns [] for no chunks', () => {
    expect(planPairs(0, {})).toEqual([]);
    expect(planPairs(0, { targetPairs: 10 })).toEqual([]);
  });

  it('gives every chunk nPairs, default 3', () => {
    expect(planPairs(3, {})).toEqual([{ index: 0, pairs: 3 }, { index: 1, pairs: 3 }, { index: 2, pairs: 3 }]);
    expect(planPairs(2, { nPairs: 5 })).toEqual([{ index: 0, pairs: 5 }, { index: 1, pairs: 5 }]);
  });

  it('caps the chunks used with maxChunks, spread over the document', () => {
    const plan = planPairs(10, { maxChunks: 4, nPairs: 2 });
    expect(indices(plan)).toEqual([0, 2, 5, 7]);
    expect(plan.every((p) => p.pairs === 2)).toBe(true);
    expectEvenSpread(indices(planPairs(100, { maxChunks: 7 })), 100);
    expect(indices(planPairs(3, { maxChunks: 10 }))).toEqual([0, 1, 2]);
  });

  it('spreads targetPairs evenly, extras to the earliest chunks, summing exactly', () => {
    expect(planPairs(4, { targetPairs: 10 }).map((p) => p.pairs)).toEqual([3, 3, 2, 2]);
    for (const [count, target, max] of [[7, 23, undefined], [50, 51, undefined], [30, 100, 9], [5, 5, undefined]] as const) {
      const plan = planPairs(count, { targetPairs: target, maxChunks: max });
      expect(sum(plan)).toBe(target);
      const counts = plan.map((p) => p.pairs);
      expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
      expect(counts).toEqual([...counts].sort((a, b) => b - a));
      expectEvenSpread(indices(plan), count);
    }
  });

  it('uses only targetPairs chunks, 1 pair each, when the target is below the chunk count', () => {
    const plan = planPairs(20, { targetPairs: 4 });
    expect(plan).toEqual([0, 5, 10, 15].map((index) => ({ index, pairs: 1 })));
    expect(planPairs(20, { targetPairs: 3, maxChunks: 5 })).toHaveLength(3);
    expect(planPairs(20, { targetPairs: 0 })).toEqual([]);
  });

  it('lets targetPairs win over nPairs', () => {
    expect(sum(planPairs(5, { targetPairs: 7, nPairs: 10 }))).toBe(7);
  });

  it('caps a chunk at 50 pairs and returns the short plan', () => {
    const plan = planPairs(2, { targetPairs: 150 });
    expect(plan).toEqual([{ index: 0, pairs: MAX_PAIRS_PER_CHUNK }, { index: 1, pairs: MAX_PAIRS_PER_CHUNK }]);
    expect(sum(planPairs(3, { targetPairs: 150 }))).toBe(150);
  });

  it('rejects invalid input', () => {
    expect(() => planPairs(-1, {})).toThrow(/chunkCount/);
    expect(() => planPairs(5, { maxChunks: 0 })).toThrow(/maxChunks/);
    expect(() => planPairs(5, { targetPairs: -2 })).toThrow(/targetPairs/);
    expect(() => planPairs(5, { nPairs: 0 })).toThrow(/nPairs/);
    expect(() => planPairs(5, { nPairs: 1.5 })).toThrow(RangeError);
  });
});

describe('spreadIndices', () => {
  it('is deterministic, distinct and starts at 0', () => {
    for (let count = 1; count <= 40; count++) {
      for (let k = 1; k <= count; k++) {
        const idx = spreadIndices(count, k);
        expect(idx).toHaveLength(k);
        expectEvenSpread(idx, count);
      }
    }
    expect(spreadIndices(3, 10)).toEqual([0, 1, 2]);
  });
});
