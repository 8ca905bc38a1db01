import { describe, expect, it } from 'vitest';
import { balanceDifficulty, DEFAULT_MIX, type Balanced } from '../../services/curate/tool-balance.js';
import type { Difficulty } from '../../services/tools/tool-example.js';

const level = (d: Difficulty, n: number, rating = (i: number) => i) => Array.from({ length: n }, (_, i): Balanced => ({ key: `${d}${String(i).padStart(2, '0')}`, difficulty: d, rating: rating(i) }));
const kept = (records: Balanced[], dropped: Map<string, string>) => records.filter((r) => !dropped.has(r.key));

describe('balanceDifficulty', () => {
  it('keeps the largest set the mix allows, within one record per level', () => {
    for (const [easy, medium, hard] of [[12, 12, 6], [30, 50, 20], [5, 40, 40], [100, 3, 9], [7, 11, 2]]) {
      const records = [...level('easy', easy), ...level('medium', medium), ...level('hard', hard)];
      const { dropped, quota } = balanceDifficulty(records, DEFAULT_MIX);
      const out = kept(records, dropped);
      for (const d of ['easy', 'medium', 'hard'] as const) {
        expect(out.filter((r) => r.difficulty === d)).toHaveLength(quota[d]);
        expect(Math.abs(quota[d] - DEFAULT_MIX[d] * out.length)).toBeLessThanOrEqual(1);
      }
      // The binding level is kept whole: no smaller set was chosen than the mix allows.
      expect(Math.min(easy / 0.3, medium / 0.5, hard / 0.2) - out.length).toBeLessThan(1 / 0.2 + 1);
    }
  });

  it('keeps the best-rated of a level, ties by key, the same every time', () => {
    const easy = level('easy', 10, (i) => [5, 9, 9, 1, 7, 9, 2, 3, 8, 4][i]);
    const records = [...easy, ...level('medium', 5), ...level('hard', 2)];
    const first = balanceDifficulty(records, DEFAULT_MIX);
    expect(kept(easy, first.dropped).map((r) => r.key)).toEqual(['easy01', 'easy02', 'easy05']);
    expect(balanceDifficulty([...records].reverse(), DEFAULT_MIX).dropped).toEqual(first.dropped);
  });

  it('drops a level the mix gives no share, balances the rest when one is missing, and leaves records without a difficulty', () => {
    const records = [...level('easy', 6), ...level('hard', 6), { key: 'x' }];
    const { dropped, quota, warnings } = balanceDifficulty(records, { easy: 0.5, medium: 0.5, hard: 0 });
    expect(quota).toEqual({ easy: 6, medium: 0, hard: 0 });
    expect([...dropped.keys()].sort()).toEqual(level('hard', 6).map((r) => r.key));
    expect(dropped.has('x')).toBe(false);
    expect(warnings).toEqual(['no medium examples to balance: the mix is met among easy']);
  });
});
