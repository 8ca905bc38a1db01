import { describe, expect, it } from 'vitest';
import { coverageSelect, deitaSelect, fromFlat, kmeans, lexicalVectors, nearDuplicates, nearestNeighbours, vectorSet, type VectorSet } from '../../services/vectors/index.js';
import { quotas } from '../../services/vectors/coverage.js';
import { syntheticVectors } from '../support/synthetic-vectors.js';

const rows = (set: VectorSet) => Array.from({ length: set.n }, (_, i) => Array.from(set.data.subarray(i * set.dims, (i + 1) * set.dims)));
const ident = (n: number) => Int32Array.from({ length: n }, (_, i) => i);
/** A set at angles (degrees) in the plane: cos between rows is cos of the angle difference. */
const angles = (...deg: number[]) => vectorSet(deg.map((a) => [Math.cos((a * Math.PI) / 180), Math.sin((a * Math.PI) / 180)]));
/** perm[i] = the new position of old row i; rows moved accordingly. */
function permute(set: VectorSet, seed: number): { set: VectorSet; perm: Int32Array } {
  const order = ident(set.n).sort((a, b) => ((a * 2654435761 + seed) % 1000003) - ((b * 2654435761 + seed) % 1000003) || a - b);
  const perm = new Int32Array(set.n);
  order.forEach((old, pos) => (perm[old] = pos));
  const old = rows(set);
  return { set: vectorSet(Array.from(order, (o) => old[o]), set.dims), perm };
}

describe('vector sets', () => {
  it('normalises rows, keeps zero rows zero and refuses ragged rows', () => {
    const set = vectorSet([[3, 4], [0, 0], [Number.NaN, 1]]);
    expect(Array.from(set.data)).toEqual([0.6000000238418579, 0.800000011920929, 0, 0, 0, 0]);
    expect(fromFlat(new Float32Array([0, 2]), 2).data[1]).toBe(1);
    expect(() => vectorSet([[1, 2], [1]])).toThrow(/rows\.1/);
  });
});

describe('lexicalVectors', () => {
  it('is deterministic, unit length, near for paraphrases and far for unrelated text; empty text is a zero row', async () => {
    const texts = ['How do I install Quarry on Debian Linux?', 'how   do i INSTALL quarry on debian linux', 'What is the capital of France?', ''];
    const a = await lexicalVectors(texts);
    const b = await lexicalVectors(texts);
    expect(a.dims).toBe(512);
    expect(Array.from(a.data)).toEqual(Array.from(b.data));
    const cos = (i: number, j: number) => rows(a)[i].reduce((s, x, k) => s + x * rows(a)[j][k], 0);
    expect(cos(0, 0)).toBeCloseTo(1, 5);
    expect(cos(0, 1)).toBeGreaterThan(0.9); // case and whitespace do not matter (only "?" differs)
    expect(cos(0, 2)).toBeLessThan(0.3);
    expect(rows(a)[3].every((x) => x === 0)).toBe(true);
  });
});

describe('nearestNeighbours', () => {
  it('finds each row’s most similar other row, ties to the lower row, zero rows similar to nothing', async () => {
    const set = angles(0, 10, 30, 55, 0);
    const zeroed = vectorSet([...rows(set), [0, 0]]);
    const nn = await nearestNeighbours(zeroed);
    expect(Array.from(nn.index)).toEqual([4, 0, 1, 2, 0, -1]); // rows 0 and 4 are equal: each other's
    expect(nn.similarity[2]).toBeCloseTo(Math.cos((20 * Math.PI) / 180), 6);
    expect(nn.similarity[5]).toBe(0);
  });
  it('gives -1 / 0 for one row and each other for two', async () => {
    expect(await nearestNeighbours(angles(0))).toEqual({ index: Int32Array.of(-1), similarity: Float32Array.of(0) });
    expect(Array.from((await nearestNeighbours(angles(0, 90))).index)).toEqual([1, 0]);
  });
});

describe('nearDuplicates (SemDeDup)', () => {
  it('drops a row above the threshold to a KEPT row, naming the most similar kept one', async () => {
    // 0° and 10°: cos .985; 10° and 20°: .985; 0° and 20°: .940. Visiting 0,1,2: 1 drops (of 0), 2 drops (of 0, not of dropped 1).
    const set = angles(0, 10, 20, 90);
    const dup = await nearDuplicates(set, 0.93, ident(4));
    expect(dup.map((d) => [d.row, d.of])).toEqual([[1, 0], [2, 0]]);
    // Visiting the middle first: both others drop as duplicates of it.
    expect((await nearDuplicates(set, 0.93, Int32Array.of(1, 0, 2, 3))).map((d) => [d.row, d.of])).toEqual([[0, 1], [2, 1]]);
    // Above 0.95 only the 10° neighbours count: 1 drops of 0, then 2 is near only dropped 1 and stays.
    expect((await nearDuplicates(set, 0.95, ident(4))).map((d) => d.row)).toEqual([1]);
  });
  it('uses "above" at the threshold boundary, keeps zero rows and checks the order', async () => {
    const set = vectorSet([[1, 0], [1, 0], [0, 0], [0, 0]]);
    expect((await nearDuplicates(set, 0.999, ident(4))).map((d) => [d.row, d.of])).toEqual([[1, 0]]);
    expect(await nearDuplicates(set, 1, ident(4))).toEqual([]); // equal to 1 is not above 1
    expect(await nearDuplicates(angles(0), 0.9, ident(1))).toEqual([]);
    await expect(nearDuplicates(set, 1.5, ident(4))).rejects.toThrow(/threshold/);
    await expect(nearDuplicates(set, 0.9, Int32Array.of(0, 0))).rejects.toThrow(/order\.1/);
  });
  it('gives the same drops, mapped, when rows and order are permuted alike', async () => {
    const { set } = syntheticVectors({ n: 600, dims: 32, clusters: 20, pairs: 60, pairCosine: 0.97, seed: 3 });
    const order = ident(set.n).reverse();
    const base = await nearDuplicates(set, 0.95, order);
    const { set: moved, perm } = permute(set, 17);
    const again = await nearDuplicates(moved, 0.95, order.map((r) => perm[r]));
    expect(base.length).toBeGreaterThan(50);
    expect(again).toEqual(base.map((d) => ({ row: perm[d.row], of: perm[d.of], similarity: d.similarity })));
  });
});

describe('deitaSelect', () => {
  it('takes rows by score, skips one too close to a selected row, stops at target', async () => {
    const set = angles(0, 5, 40, 45, 90);
    const score = Float64Array.of(1, 9, 5, 5, Number.NaN);
    // by score: 1 (9), 2 (5, lower row first), 3 (5: near 2, skipped), 0 (near 1, skipped), 4 (NaN last)
    expect(Array.from(await deitaSelect(set, score, 10, 0.99, {}))).toEqual([1, 2, 4]);
    expect(Array.from(await deitaSelect(set, score, 2, 0.99))).toEqual([1, 2]);
    expect(Array.from(await deitaSelect(set, score, 0, 0.99))).toEqual([]);
    expect(Array.from(await deitaSelect(set, score, 10, 1))).toEqual([1, 2, 3, 0, 4]); // nothing is above 1
    await expect(deitaSelect(set, Float64Array.of(1), 2, 0.9)).rejects.toThrow(/score/);
  });
  it('selects the same rows, mapped, when rows and scores are permuted alike', async () => {
    const { set } = syntheticVectors({ n: 500, dims: 32, clusters: 10, pairs: 50, pairCosine: 0.97, seed: 5 });
    const score = Float64Array.from({ length: set.n }, (_, i) => (i * 37) % 11);
    const base = await deitaSelect(set, score, 100, 0.9);
    const { set: moved, perm } = permute(set, 3);
    const movedScore = new Float64Array(set.n);
    perm.forEach((to, from) => (movedScore[to] = score[from]));
    const again = await deitaSelect(moved, movedScore, 100, 0.9);
    // Ties between equal scores go to the lower row, which a permutation changes: compare as score-ordered sets.
    expect(again.length).toBe(base.length);
    expect([...again].map((r) => movedScore[r])).toEqual([...base].map((r) => score[r]));
  });
});

describe('kmeans and coverageSelect', () => {
  const blobs = () => vectorSet([[1, 0.01, 0], [1, -0.01, 0], [1, 0, 0.02], [0, 1, 0.01], [0.01, 1, 0], [0, 0.02, 1], [0.01, 0, 1]]);
  it('finds separated clusters, is deterministic for a seed, and takes k ≥ n as n', async () => {
    const a = await kmeans(blobs(), 3, 1);
    expect(new Set(a.assignment.slice(0, 3)).size).toBe(1);
    expect(new Set([a.assignment[0], a.assignment[3], a.assignment[5]]).size).toBe(3);
    expect(a.assignment[3]).toBe(a.assignment[4]);
    expect(await kmeans(blobs(), 3, 1)).toEqual(a);
    const all = await kmeans(blobs(), 50, 1);
    expect(all.centroids.length).toBe(7 * 3);
    expect(new Set(all.assignment).size).toBe(7);
    await expect(kmeans(blobs(), 0, 1)).rejects.toThrow(/k/);
  });
  it('centroid: quotas proportional, at least one per cluster, nearest the centre', async () => {
    expect(Array.from(quotas(Int32Array.of(80, 15, 5), 10))).toEqual([8, 1, 1]);
    expect(Array.from(quotas(Int32Array.of(10, 10, 10), 2))).toEqual([1, 1, 0]);
    expect(Array.from(quotas(Int32Array.of(3, 0, 7), 5))).toEqual([2, 0, 3]);
    const r = await coverageSelect(blobs(), 3, 'centroid', 1); // k = round(2√3) = 3
    expect(r.k).toBe(3);
    expect(new Set(Array.from(r.selected, (i) => r.cluster[i])).size).toBe(3);
    expect(Array.from(r.selected)).toEqual([...r.selected].sort((a, b) => a - b));
  });
  it('diverse: round-robin over clusters, then the row farthest from those taken in its cluster', async () => {
    const set = angles(0, 2, 4, 20, 90, 92);
    const r = await coverageSelect(set, 3, 'diverse', 1);
    expect(r.k).toBe(3);
    expect(r.selected.length).toBe(3);
    const perCluster = new Map<number, number>();
    for (const i of r.selected) perCluster.set(r.cluster[i], (perCluster.get(r.cluster[i]) ?? 0) + 1);
    expect(Math.max(...perCluster.values())).toBe(1);
  });
  it('handles n = 1, n = 2, target ≥ n and target 0', async () => {
    expect(await coverageSelect(angles(0), 5, 'centroid', 1)).toEqual({ selected: Int32Array.of(0), cluster: Int32Array.of(0), k: 1 });
    expect(Array.from((await coverageSelect(angles(0, 90), 1, 'diverse', 1)).selected)).toHaveLength(1);
    expect(Array.from((await coverageSelect(angles(0, 10, 90), 3, 'centroid', 1)).selected)).toEqual([0, 1, 2]);
    expect((await coverageSelect(angles(0, 10, 90), 0, 'centroid', 1)).selected.length).toBe(0);
  });
  it('gives the same result for the same rows in any input order once put in canonical order', async () => {
    const { set } = syntheticVectors({ n: 6_000, dims: 24, clusters: 30, seed: 9 });
    const canonical = (s: VectorSet) => {
      const r = rows(s);
      const key = r.map((row) => row.map((x) => x.toFixed(6)).join(','));
      return vectorSet(ident(s.n).sort((a, b) => (key[a] < key[b] ? -1 : key[a] > key[b] ? 1 : 0)).reduce<number[][]>((out, i) => (out.push(r[i]), out), []), s.dims);
    };
    const a = canonical(set);
    const b = canonical(permute(set, 5).set);
    for (const strategy of ['centroid', 'diverse'] as const) {
      const first = await coverageSelect(a, 300, strategy, 42);
      expect(first.selected.length).toBe(300);
      expect(await coverageSelect(b, 300, strategy, 42)).toEqual(first);
    }
  }, 60_000);
});

describe('abort', () => {
  it('every long function throws once the signal aborts', async () => {
    const { set } = syntheticVectors({ n: 4_000, dims: 64, clusters: 40, seed: 2 });
    const aborted = AbortSignal.abort(new Error('stop'));
    await expect(nearestNeighbours(set, { signal: aborted })).rejects.toThrow('stop');
    await expect(nearDuplicates(set, 0.9, ident(set.n), { signal: aborted })).rejects.toThrow('stop');
    await expect(kmeans(set, 10, 1, { signal: aborted })).rejects.toThrow('stop');
    const later = new AbortController();
    const run = coverageSelect(set, 100, 'diverse', 1, { signal: later.signal });
    setTimeout(() => later.abort(new Error('late')), 5);
    await expect(run).rejects.toThrow('late');
  });
});
