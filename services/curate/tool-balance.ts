import { DIFFICULTIES, type Difficulty } from '../tools/tool-example.js';

export type DifficultyMix = Record<Difficulty, number>;

/** The seed's target mix (Generator's `tool-curate`: 30/50/20). */
export const DEFAULT_MIX: DifficultyMix = { easy: 0.3, medium: 0.5, hard: 0.2 };

export interface Balanced {
  key: string;
  difficulty?: Difficulty;
  rating?: number;
}

export interface BalanceResult {
  /** Keys dropped to fit the mix, with why. */
  dropped: Map<string, string>;
  /** Records kept per difficulty. */
  quota: Record<Difficulty, number>;
  warnings: string[];
}

/** Best first: higher rating, then key, so the same input always keeps the same records. */
const byRating = (a: Balanced, b: Balanced) => (b.rating ?? 0) - (a.rating ?? 0) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

/**
 * Drops records so the kept ones follow `mix` (within one record per level): the largest total the
 * available records can fill at that mix, each level's share rounded by largest remainder, the
 * best-rated kept. A level the mix wants but no record has cannot be met: the others are balanced
 * among themselves and a warning says so. Records with no difficulty are not balanced (kept).
 */
export function balanceDifficulty(records: readonly Balanced[], mix: DifficultyMix): BalanceResult {
  const byLevel = Object.fromEntries(DIFFICULTIES.map((d) => [d, records.filter((r) => r.difficulty === d).sort(byRating)])) as Record<Difficulty, Balanced[]>;
  const warnings: string[] = [];
  const wanted = DIFFICULTIES.filter((d) => mix[d] > 0);
  const present = wanted.filter((d) => byLevel[d].length > 0);
  for (const d of wanted) if (byLevel[d].length === 0) warnings.push(`no ${d} examples to balance: the mix is met among ${present.join(', ') || 'none'}`);
  const share = present.reduce((sum, d) => sum + mix[d], 0);
  const target = Object.fromEntries(present.map((d) => [d, mix[d] / share])) as Partial<Record<Difficulty, number>>;
  // The largest total whose share of each level is available; then whole records by largest remainder.
  const total = present.length ? Math.floor(Math.min(...present.map((d) => byLevel[d].length / target[d]!)) + 1e-9) : 0;
  const quota = Object.fromEntries(DIFFICULTIES.map((d) => [d, 0])) as Record<Difficulty, number>;
  for (const d of present) quota[d] = Math.min(byLevel[d].length, Math.floor(total * target[d]!));
  const remainders = present.filter((d) => quota[d] < byLevel[d].length).sort((a, b) => (total * target[b]!) % 1 - (total * target[a]!) % 1);
  for (let left = total - present.reduce((sum, d) => sum + quota[d], 0), i = 0; left > 0 && i < remainders.length; left--, i++) quota[remainders[i]]++;
  const dropped = new Map<string, string>();
  for (const d of DIFFICULTIES) {
    byLevel[d].slice(quota[d]).forEach((r) => dropped.set(r.key, `${d}: ${quota[d]} of ${byLevel[d].length} kept for the mix ${fmtMix(target)}`));
  }
  return { dropped, quota, warnings };
}

const fmtMix = (m: Partial<Record<Difficulty, number>>) => DIFFICULTIES.filter((d) => m[d]).map((d) => `${d} ${Math.round(m[d]! * 100)}%`).join(' / ');
