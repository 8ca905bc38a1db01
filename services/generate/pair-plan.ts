/** How many QA pairs to request from which chunks. */

export interface PairPlanOptions { nPairs?: number; targetPairs?: number; maxChunks?: number }

export const DEFAULT_PAIRS_PER_CHUNK = 3;
/** One generation call per chunk; past this the teacher model's answers get repetitive or truncated. */
export const MAX_PAIRS_PER_CHUNK = 50;

/**
 * `k` distinct ascending indices out of `count`: the first index of each of `k` equal-width strata,
 * so index 0 is always included and gaps differ by at most one. Integer maths keeps it deterministic.
 */
export function spreadIndices(count: number, k: number): number[] {
  const n = Math.min(count, k);
  return Array.from({ length: n }, (_, i) => Math.floor((i * count) / n));
}

function checkInt(name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) throw new RangeError(`${name} must be an integer >= ${min} (got ${value})`);
}

/**
 * Returns, for each selected chunk index (ascending), how many pairs to ask for.
 * `targetPairs` wins over `nPairs` when both are given. With `targetPairs`, the per-chunk cap can
 * leave the sum short of the target; the plan is still returned so the caller can report the gap.
 * `nPairs` is taken as given (no cap): it is an explicit per-chunk request.
 */
export function planPairs(chunkCount: number, options: PairPlanOptions): Array<{ index: number; pairs: number }> {
  const { nPairs = DEFAULT_PAIRS_PER_CHUNK, targetPairs, maxChunks } = options;
  checkInt('chunkCount', chunkCount, 0);
  if (maxChunks != null) checkInt('maxChunks', maxChunks, 1);
  if (targetPairs != null) checkInt('targetPairs', targetPairs, 0);
  else checkInt('nPairs', nPairs, 1);

  if (chunkCount === 0) return [];
  const usable = Math.min(chunkCount, maxChunks ?? chunkCount);
  if (targetPairs == null) return spreadIndices(chunkCount, usable).map((index) => ({ index, pairs: nPairs }));

  // Fewer pairs than chunks: one pair each from chunks spread over the whole document,
  // rather than several from its opening sections.
  if (targetPairs < usable) return spreadIndices(chunkCount, targetPairs).map((index) => ({ index, pairs: 1 }));
  const base = Math.floor(targetPairs / usable);
  const extra = targetPairs % usable;
  return spreadIndices(chunkCount, usable).map((index, i) => ({
    index,
    pairs: Math.min(MAX_PAIRS_PER_CHUNK, base + (i < extra ? 1 : 0)),
  }));
}
