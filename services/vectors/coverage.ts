import { kmeans } from './kmeans.js';
import { dot, ticker, vectorError, type VectorOpts, type VectorSet } from './vector-set.js';

/** Rows of each cluster, by row index: members of c are row[start[c] .. start[c + 1]]. */
function clusterLists(assignment: Int32Array, k: number): { start: Int32Array; row: Int32Array } {
  const start = new Int32Array(k + 1);
  for (const c of assignment) start[c + 1]++;
  for (let c = 0; c < k; c++) start[c + 1] += start[c];
  const fill = start.slice(0, k);
  const row = new Int32Array(assignment.length);
  assignment.forEach((c, i) => (row[fill[c]++] = i));
  return { start, row };
}

/**
 * Quotas proportional to cluster sizes, at least 1 per non-empty cluster, summing to `target`
 * (largest remainder; ties: the lower cluster). With more clusters than `target`, the largest
 * clusters get the 1s.
 */
export function quotas(sizes: Int32Array, target: number): Int32Array {
  const k = sizes.length;
  const n = sizes.reduce((a, b) => a + b, 0);
  const quota = new Int32Array(k);
  const bySize = Array.from({ length: k }, (_, c) => c).sort((a, b) => sizes[b] - sizes[a] || a - b);
  const nonEmpty = bySize.filter((c) => sizes[c] > 0);
  if (nonEmpty.length >= target) {
    for (const c of nonEmpty.slice(0, target)) quota[c] = 1;
    return quota;
  }
  const exact = (c: number) => (target * sizes[c]) / n;
  let given = 0;
  for (const c of nonEmpty) given += quota[c] = Math.min(sizes[c], Math.max(1, Math.floor(exact(c))));
  const byRemainder = [...nonEmpty].sort((a, b) => exact(b) - quota[b] - (exact(a) - quota[a]) || a - b);
  while (given > target) {
    const c = bySize.find((x) => quota[x] > 1 && quota[x] === Math.max(...quota))!;
    quota[c]--;
    given--;
  }
  for (let pass = 0; given < target && pass < target; pass++) {
    for (const c of byRemainder) if (given < target && quota[c] < sizes[c]) (quota[c]++, given++);
  }
  return quota;
}

/**
 * TOUCAN's coverage selection: spherical k-means with k = max(2, round(2·√target)) (at most n),
 * then `centroid` takes each cluster's quota (quotas()) of rows nearest its centre, and `diverse`
 * goes round the clusters (in cluster order), each time taking the cluster's row farthest from the
 * rows already taken in that cluster (its first: the row nearest the centre). The seed compares
 * against everything selected, O(target·n); rows of other clusters are far by construction, so
 * comparing within the cluster gives the same picks at O(target·n/k). Ties: the lower row.
 * `selected` is in ascending row order; `target` ≥ n selects every row; `cluster` is every row's.
 */
export async function coverageSelect(set: VectorSet, target: number, strategy: 'centroid' | 'diverse', seed: number, opts: VectorOpts = {}): Promise<{ selected: Int32Array; cluster: Int32Array; k: number }> {
  if (!Number.isInteger(target) || target < 0) throw vectorError('target', `must be a non-negative integer (got ${target})`);
  if (strategy !== 'centroid' && strategy !== 'diverse') throw vectorError('strategy', `must be centroid or diverse (got ${String(strategy)})`);
  const n = set.n;
  if (n === 0) return { selected: new Int32Array(0), cluster: new Int32Array(0), k: 0 };
  const k = Math.min(n, Math.max(2, Math.round(2 * Math.sqrt(target))));
  const { centroids, assignment } = await kmeans(set, k, seed, opts);
  if (target >= n) return { selected: Int32Array.from({ length: n }, (_, i) => i), cluster: assignment, k };
  const lists = clusterLists(assignment, k);
  const pick = strategy === 'centroid' ? await byCentroid(set, centroids, k, lists, target, opts) : await byDiversity(set, centroids, k, lists, target, opts);
  return { selected: pick.sort(), cluster: assignment, k };
}

async function byCentroid(set: VectorSet, cent: Float32Array, k: number, lists: { start: Int32Array; row: Int32Array }, target: number, opts: VectorOpts): Promise<Int32Array> {
  const sizes = Int32Array.from({ length: k }, (_, c) => lists.start[c + 1] - lists.start[c]);
  const quota = quotas(sizes, target);
  const out: number[] = [];
  const tick = ticker(opts.signal);
  for (let c = 0; c < k; c++) {
    if (quota[c] === 0) continue;
    const members = Array.from(lists.row.subarray(lists.start[c], lists.start[c + 1]));
    const sim = new Map(members.map((i) => [i, dot(set.data, i, cent, c, set.dims)]));
    members.sort((a, b) => sim.get(b)! - sim.get(a)! || a - b);
    out.push(...members.slice(0, quota[c]));
    const turn = tick();
    if (turn) await turn;
  }
  return Int32Array.from(out);
}

async function byDiversity(set: VectorSet, cent: Float32Array, k: number, lists: { start: Int32Array; row: Int32Array }, target: number, opts: VectorOpts): Promise<Int32Array> {
  const { data, dims } = set;
  const closest = new Float32Array(set.n).fill(-Infinity); // similarity to the nearest row taken from its cluster
  const taken = new Uint8Array(set.n);
  const left = Int32Array.from({ length: k }, (_, c) => lists.start[c + 1] - lists.start[c]);
  const out: number[] = [];
  const tick = ticker(opts.signal);
  while (out.length < target) {
    for (let c = 0; c < k && out.length < target; c++) {
      if (left[c] === 0) continue;
      const first = left[c] === lists.start[c + 1] - lists.start[c];
      let best = -1;
      let bestScore = Infinity;
      for (let e = lists.start[c]; e < lists.start[c + 1]; e++) {
        const i = lists.row[e];
        if (taken[i]) continue;
        const score = first ? -dot(data, i, cent, c, dims) : closest[i];
        if (score < bestScore) (bestScore = score), (best = i);
      }
      taken[best] = 1;
      left[c]--;
      out.push(best);
      for (let e = lists.start[c]; e < lists.start[c + 1]; e++) {
        const i = lists.row[e];
        if (!taken[i]) closest[i] = Math.max(closest[i], dot(data, i, data, best, dims));
      }
      const turn = tick();
      if (turn) await turn;
    }
  }
  return Int32Array.from(out);
}
