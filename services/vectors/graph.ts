import { dot, ticker, zeroRows, type VectorOpts, type VectorSet } from './vector-set.js';
import { EdgeList } from './edges.js';
import { lshPairs } from './simhash.js';

/**
 * Every pair of rows with cosine above a threshold, as an adjacency list (CSR, both directions).
 * SemDeDup and DEITA's greedy only ever ask "is a row above the threshold to one already kept", so
 * this graph is all they need, and it is the only place the quadratic work happens.
 */
export interface SimilarityGraph {
  start: Int32Array; // row i's neighbours are at start[i] .. start[i + 1]
  neighbour: Int32Array;
  similarity: Float32Array;
}

/** Pairs are compared exactly (all n²/2) up to this many rows: ~0.3 µs a pair at 384 dims, about 1.4 s. */
export const EXACT_THRESHOLD_ROWS = 3_000;
/** Below this threshold hyperplane LSH needs too many tables to keep its recall, so the search stays exact. */
export const LSH_MIN_THRESHOLD = 0.7;

async function exactEdges(set: VectorSet, threshold: number, zero: Uint8Array, opts: VectorOpts): Promise<EdgeList> {
  const { n, dims, data } = set;
  const edges = new EdgeList();
  const tick = ticker(opts.signal);
  for (let i = 0; i < n; i++) {
    if (zero[i]) continue;
    for (let j = i + 1; j < n; j++) {
      if (zero[j]) continue;
      const s = dot(data, i, data, j, dims);
      if (s > threshold) edges.push(i, j, s);
    }
    const turn = tick();
    if (turn) await turn;
  }
  return edges;
}

/** Edges (possibly repeated, as LSH finds a pair in several tables) → CSR with each pair once per side. */
export async function toGraph(n: number, edges: EdgeList, opts: VectorOpts = {}): Promise<SimilarityGraph> {
  const start = new Int32Array(n + 1);
  for (let e = 0; e < edges.length; e++) {
    start[edges.i[e] + 1]++;
    start[edges.j[e] + 1]++;
  }
  for (let i = 0; i < n; i++) start[i + 1] += start[i];
  const fill = start.slice(0, n);
  const neighbour = new Int32Array(start[n]);
  const similarity = new Float32Array(start[n]);
  for (let e = 0; e < edges.length; e++) {
    const a = edges.i[e];
    const b = edges.j[e];
    neighbour[fill[a]] = b;
    similarity[fill[a]++] = edges.s[e];
    neighbour[fill[b]] = a;
    similarity[fill[b]++] = edges.s[e];
  }
  // Repeats sit side by side once each row's list is sorted by neighbour: keep the first of each.
  const out = new Int32Array(n + 1);
  const tick = ticker(opts.signal);
  let w = 0;
  for (let i = 0; i < n; i++) {
    const from = start[i];
    const to = start[i + 1];
    out[i] = w;
    if (to - from > 1) {
      const pairs = Array.from({ length: to - from }, (_, k) => [neighbour[from + k], similarity[from + k]] as const).sort((x, y) => x[0] - y[0]);
      for (let k = 0; k < pairs.length; k++) {
        if (k > 0 && pairs[k][0] === pairs[k - 1][0]) continue;
        neighbour[w] = pairs[k][0];
        similarity[w++] = pairs[k][1];
      }
    } else if (to > from) {
      neighbour[w] = neighbour[from];
      similarity[w++] = similarity[from];
    }
    const turn = tick();
    if (turn) await turn;
  }
  out[n] = w;
  return { start: out, neighbour: neighbour.subarray(0, w), similarity: similarity.subarray(0, w) };
}

/**
 * The graph of pairs above `threshold`. Exact when the set is small or the threshold low; otherwise
 * SimHash LSH (simhash.ts) proposes pairs and each is verified by an exact dot product, so an edge
 * is never wrong, only (rarely) missing: a pair at the threshold is found with probability ≥ 0.998
 * by construction, one well above it with higher (tests/unit/vectors.recall.test.ts measures it).
 */
export async function similarityGraph(set: VectorSet, threshold: number, opts: VectorOpts = {}): Promise<SimilarityGraph> {
  const zero = zeroRows(set);
  const approximate = set.n > EXACT_THRESHOLD_ROWS && threshold >= LSH_MIN_THRESHOLD;
  const edges = approximate ? await lshPairs(set, threshold, zero, opts) : await exactEdges(set, threshold, zero, opts);
  return toGraph(set.n, edges, opts);
}
