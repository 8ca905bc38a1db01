import { describe, expect, it } from 'vitest';
import { deitaSelect, nearDuplicates, nearestNeighbours, type VectorSet } from '../../services/vectors/index.js';
import { EXACT_THRESHOLD_ROWS, similarityGraph } from '../../services/vectors/graph.js';
import { EXACT_NEAREST_ROWS } from '../../services/vectors/neighbours.js';
import { dot } from '../../services/vectors/vector-set.js';
import { syntheticVectors } from '../support/synthetic-vectors.js';

// The approximate paths (SimHash LSH above 3,000 rows, the inverted file for nearest neighbours)
// against brute force, on the clustered data of the bench: 384 dims, 500 clusters, 2% outliers,
// planted paraphrase pairs at cosine 0.95.
const big = syntheticVectors({ n: 20_000, dims: 384, clusters: 500, pairs: 1_000, seed: 12 });
const cos = (s: VectorSet, i: number, j: number) => dot(s.data, i, s.data, j, s.dims);
const sampleRows = (n: number, count: number) => Array.from({ length: count }, (_, q) => (q * 104_729 + 7) % n);

/** Exact SemDeDup / DEITA greedy: compare with every kept row. */
function bruteGreedy(s: VectorSet, visit: ArrayLike<number>, threshold: number, target: number): { kept: number[]; dropped: Array<[number, number]> } {
  const kept: number[] = [];
  const dropped: Array<[number, number]> = [];
  for (let v = 0; v < visit.length && kept.length < target; v++) {
    const row = visit[v];
    let of = -1;
    let best = -Infinity;
    for (const k of kept) {
      const c = cos(s, row, k);
      if (c > threshold && (c > best || (c === best && k < of))) (best = c), (of = k);
    }
    if (of < 0) kept.push(row);
    else dropped.push([row, of]);
  }
  return { kept, dropped };
}

describe('approximate search recall (20,000 × 384, clustered)', () => {
  it('nearDuplicates finds ≥ 0.98 of the pairs above the threshold that brute force finds, and nothing below it', async () => {
    expect(big.set.n).toBeGreaterThan(EXACT_THRESHOLD_ROWS);
    const graph = await similarityGraph(big.set, 0.92);
    const has = (i: number, j: number) => graph.neighbour.subarray(graph.start[i], graph.start[i + 1]).includes(j);
    const planted = big.pairs.filter(([a, b]) => cos(big.set, a, b) > 0.92);
    expect(planted.length).toBe(1_000);
    expect(planted.filter(([a, b]) => has(a, b)).length / planted.length).toBeGreaterThanOrEqual(0.98);
    // Brute force from 400 rows: every pair above the threshold it finds, the graph has (≥ 0.98).
    let truth = 0;
    let found = 0;
    for (const i of sampleRows(big.set.n, 400)) {
      for (let j = 0; j < big.set.n; j++) {
        if (j !== i && cos(big.set, i, j) > 0.92) (truth++, (found += has(i, j) ? 1 : 0));
      }
    }
    expect(truth).toBeGreaterThan(10);
    expect(found / truth).toBeGreaterThanOrEqual(0.98);
    for (let e = 0; e < graph.neighbour.length; e++) expect(graph.similarity[e]).toBeGreaterThan(0.92);
    const dropped = await nearDuplicates(big.set, 0.92, Int32Array.from({ length: big.set.n }, (_, i) => i));
    const copies = new Set(big.pairs.map(([, b]) => b));
    expect(dropped.filter((d) => copies.has(d.row)).length / copies.size).toBeGreaterThanOrEqual(0.98);
  }, 300_000);

  it('nearestNeighbours agrees with brute force on ≥ 0.95 of rows, with the exact similarity when it agrees', async () => {
    expect(big.set.n).toBeGreaterThan(EXACT_NEAREST_ROWS);
    const nn = await nearestNeighbours(big.set);
    const rows = sampleRows(big.set.n, 300);
    let agree = 0;
    for (const i of rows) {
      let best = -1;
      let bestSim = -Infinity;
      for (let j = 0; j < big.set.n; j++) {
        const c = j === i ? -Infinity : cos(big.set, i, j);
        if (c > bestSim) (bestSim = c), (best = j);
      }
      if (nn.index[i] === best) {
        agree++;
        expect(Math.abs(nn.similarity[i] - bestSim)).toBeLessThan(1e-4);
      } else expect(nn.similarity[i]).toBeLessThanOrEqual(bestSim + 1e-6); // a true row, just not the nearest
    }
    expect(agree / rows.length).toBeGreaterThanOrEqual(0.95);
  }, 300_000);

  it('deitaSelect above the exact cutoff selects exactly what the brute-force greedy does on 3,500 rows; nearDuplicates ≥ 0.99 of its drops', async () => {
    const { set } = syntheticVectors({ n: 3_500, dims: 384, clusters: 100, pairs: 350, seed: 4 });
    expect(set.n).toBeGreaterThan(EXACT_THRESHOLD_ROWS);
    const score = Float64Array.from({ length: set.n }, (_, i) => ((i * 7_919) % 1_000) / 100);
    const byScore = Array.from({ length: set.n }, (_, i) => i).sort((a, b) => score[b] - score[a] || a - b);
    const ref = bruteGreedy(set, byScore, 0.9, 700);
    expect(Array.from(await deitaSelect(set, score, 700, 0.9))).toEqual(ref.kept);
    const dedup = bruteGreedy(set, byScore, 0.92, Infinity);
    // A missed pair could change later drops; none here are missed often: ≥ 0.99 of brute force's drops, no others.
    const got = new Set((await nearDuplicates(set, 0.92, Int32Array.from(byScore))).map((d) => `${d.row}>${d.of}`));
    expect(dedup.dropped.length).toBeGreaterThanOrEqual(350);
    expect(dedup.dropped.filter(([r, o]) => got.has(`${r}>${o}`)).length / dedup.dropped.length).toBeGreaterThanOrEqual(0.99);
    expect(got.size).toBeLessThanOrEqual(dedup.dropped.length);
  }, 300_000);

  it('the LSH path gives the same drops, mapped, when rows and order are permuted alike', async () => {
    const { set, pairs } = syntheticVectors({ n: 4_000, dims: 64, clusters: 50, pairs: 300, seed: 8 });
    const order = Int32Array.from({ length: set.n }, (_, i) => set.n - 1 - i);
    const base = await nearDuplicates(set, 0.93, order);
    expect(base.length).toBeGreaterThanOrEqual(pairs.length * 0.98);
    const newPos = Int32Array.from({ length: set.n }, (_, i) => (i * 1_237) % set.n); // 1237 is coprime to 4000
    const moved = new Float32Array(set.data.length);
    for (let i = 0; i < set.n; i++) moved.set(set.data.subarray(i * 64, i * 64 + 64), newPos[i] * 64);
    const again = await nearDuplicates({ n: set.n, dims: 64, data: moved }, 0.93, order.map((r) => newPos[r]));
    expect(again).toEqual(base.map((d) => ({ row: newPos[d.row], of: newPos[d.of], similarity: d.similarity })));
  }, 60_000);
});
