import { similarityGraph } from './graph.js';
import { ticker, vectorError, type VectorOpts, type VectorSet } from './vector-set.js';

function checkThreshold(threshold: number): void {
  if (!Number.isFinite(threshold) || threshold < -1 || threshold > 1) throw vectorError('threshold', `must be a number from -1 to 1 (got ${threshold})`);
}

/**
 * SemDeDup (Abbas et al. 2023): rows are visited in `order` (better first, e.g. by rating); a row
 * whose cosine to an already KEPT row is above `threshold` is dropped, and `of` is the most similar
 * such kept row (ties: the lower row). Returns the dropped rows in visiting order; rows missing from
 * `order` are visited after it, by row index. Zero rows are similar to nothing and always kept.
 * Exact up to 3,000 rows (or below threshold 0.7); above, SimHash LSH (graph.ts) finds ≥ 99.8% of
 * the pairs at the threshold and more above it, and never a pair below it.
 */
export async function nearDuplicates(set: VectorSet, threshold: number, order: Int32Array, opts: VectorOpts = {}): Promise<Array<{ row: number; of: number; similarity: number }>> {
  checkThreshold(threshold);
  const visit = visitOrder(set.n, order);
  const graph = await similarityGraph(set, threshold, opts);
  const kept = new Uint8Array(set.n);
  const dropped: Array<{ row: number; of: number; similarity: number }> = [];
  const tick = ticker(opts.signal);
  for (const row of visit) {
    let of = -1;
    let best = -Infinity;
    for (let e = graph.start[row]; e < graph.start[row + 1]; e++) {
      const j = graph.neighbour[e];
      const s = graph.similarity[e];
      if (kept[j] && (s > best || (s === best && j < of))) {
        best = s;
        of = j;
      }
    }
    if (of < 0) kept[row] = 1;
    else dropped.push({ row, of, similarity: best });
    const turn = tick();
    if (turn) await turn;
  }
  return dropped;
}

function visitOrder(n: number, order: Int32Array): Int32Array {
  const seen = new Uint8Array(n);
  const visit = new Int32Array(n);
  let w = 0;
  order.forEach((row, i) => {
    if (!Number.isInteger(row) || row < 0 || row >= n) throw vectorError(`order.${i}`, `is not a row (0..${n - 1}): ${row}`);
    if (seen[row]) throw vectorError(`order.${i}`, `row ${row} appears twice`);
    seen[row] = 1;
    visit[w++] = row;
  });
  for (let i = 0; i < n; i++) if (!seen[i]) visit[w++] = i;
  return visit;
}

/**
 * DEITA's score-first, diversity-aware selection (Liu et al. 2024): rows by `score` descending (ties:
 * the lower row first; NaN last), skipping a row whose cosine to an already selected row is above
 * `threshold`, until `target` rows are selected (fewer when the set runs out). Returns the selected
 * rows in selection order. Same exactness as nearDuplicates: it is SemDeDup visited by score and
 * stopped at `target`.
 */
export async function deitaSelect(set: VectorSet, score: Float64Array, target: number, threshold: number, opts: VectorOpts = {}): Promise<Int32Array> {
  checkThreshold(threshold);
  if (score.length !== set.n) throw vectorError('score', `has ${score.length} scores for ${set.n} rows`);
  if (!Number.isInteger(target) || target < 0) throw vectorError('target', `must be a non-negative integer (got ${target})`);
  const key = (i: number) => (Number.isNaN(score[i]) ? -Infinity : score[i]);
  const byScore = Int32Array.from({ length: set.n }, (_, i) => i).sort((a, b) => (key(a) === key(b) ? a - b : key(b) > key(a) ? 1 : -1));
  const graph = await similarityGraph(set, threshold, opts);
  const taken = new Uint8Array(set.n);
  const selected: number[] = [];
  const tick = ticker(opts.signal);
  for (const row of byScore) {
    if (selected.length >= target) break;
    let near = false;
    for (let e = graph.start[row]; e < graph.start[row + 1] && !near; e++) near = taken[graph.neighbour[e]] === 1;
    if (!near) {
      taken[row] = 1;
      selected.push(row);
    }
    const turn = tick();
    if (turn) await turn;
  }
  return Int32Array.from(selected);
}
