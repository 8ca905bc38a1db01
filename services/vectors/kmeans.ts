import { nearestCentroid, normaliseCentroids, sampleRows, seedCentroids } from './centroids.js';
import { prng, ticker, vectorError, zeroRows, type VectorOpts, type VectorSet } from './vector-set.js';

/** Up to this many rows k-means is Lloyd's (full passes until no row moves, at most 50). */
export const LLOYD_ROWS = 5_000;
const LLOYD_ITERATIONS = 50;
const BATCH = 1_024;

/**
 * Spherical k-means (cosine) with k-means++ seeding, deterministic for `seed` given the rows in the
 * same order. Small sets run Lloyd's to convergence; larger ones mini-batch k-means (Sculley 2010:
 * per-centre learning rate 1/count over random batches of 1,024) on k-means++ seeds from a sample,
 * then one full assignment, so the cost is O(n·k) plus a fixed training budget rather than
 * O(n·k·iterations). Why not ml-kmeans: it runs Lloyd's on arrays of arrays of doubles, O(n·k·d)
 * per iteration with a copy of the data, which at 100,000 × 384 and k = 632 is minutes per run.
 * k above the number of rows is taken as the number of rows. Zero rows join centre 0.
 */
export async function kmeans(set: VectorSet, k: number, seed: number, opts: VectorOpts = {}): Promise<{ centroids: Float32Array; assignment: Int32Array }> {
  if (!Number.isInteger(k) || k < 1) throw vectorError('k', `must be a positive integer (got ${k})`);
  const { n, dims: d, data } = set;
  if (n === 0) return { centroids: new Float32Array(0), assignment: new Int32Array(0) };
  const kk = Math.min(k, n);
  const centroids = await trainCentroids(set, kk, seed, opts);
  return { centroids, assignment: await assign(set, centroids, kk, opts) };
}

/** The centres alone (k ≤ n): k-means++ on a sample of non-zero rows, then Lloyd's or mini-batch. */
export async function trainCentroids(set: VectorSet, k: number, seed: number, opts: VectorOpts = {}, visitsPerCentre = 60): Promise<Float32Array> {
  const { n, dims: d, data } = set;
  const random = prng(seed);
  const zero = zeroRows(set);
  const training = sampleRows(n, n <= LLOYD_ROWS ? n : Math.max(5_000, 10 * k), random, (i) => zero[i] === 0);
  if (training.length === 0) return new Float32Array(k * d);
  const centroids = await seedCentroids(data, d, training, k, random, opts);
  if (n <= LLOYD_ROWS) await lloyd(set, centroids, k, opts);
  else await miniBatch(set, centroids, k, random, zero, visitsPerCentre, opts);
  return centroids;
}

/** Every row's nearest centre (ties: the lower centre). */
export async function assign(set: VectorSet, centroids: Float32Array, k: number, opts: VectorOpts): Promise<Int32Array> {
  const assignment = new Int32Array(set.n);
  const best = { c: 0, s: 0 };
  const scratch = new Float32Array(k);
  const tick = ticker(opts.signal);
  for (let i = 0; i < set.n; i++) {
    nearestCentroid(set.data, i, centroids, k, set.dims, best, scratch);
    assignment[i] = best.c;
    const turn = tick();
    if (turn) await turn;
  }
  return assignment;
}

async function lloyd(set: VectorSet, centroids: Float32Array, k: number, opts: VectorOpts): Promise<void> {
  const { n, dims: d, data } = set;
  let previous: Int32Array = new Int32Array(n).fill(-1);
  const tick = ticker(opts.signal);
  for (let it = 0; it < LLOYD_ITERATIONS; it++) {
    const assignment = await assign(set, centroids, k, opts);
    if (assignment.every((c, i) => c === previous[i])) return;
    previous = assignment;
    const sum = new Float32Array(k * d);
    const count = new Int32Array(k);
    for (let i = 0; i < n; i++) {
      const c = assignment[i];
      count[c]++;
      for (let t = 0; t < d; t++) sum[c * d + t] += data[i * d + t];
      if (i % 4096 === 4095) {
        const turn = tick(); // n × d additions: half a second at a million rows
        if (turn) await turn;
      }
    }
    // An empty centre keeps its place (it stays a candidate; the final assignment decides).
    for (let c = 0; c < k; c++) if (count[c] > 0) centroids.set(sum.subarray(c * d, c * d + d), c * d);
    normaliseCentroids(centroids, k, d);
    const turn = tick();
    if (turn) await turn;
  }
}

async function miniBatch(set: VectorSet, centroids: Float32Array, k: number, random: () => number, zero: Uint8Array, visits: number, opts: VectorOpts): Promise<void> {
  const { n, dims: d, data } = set;
  // A fixed budget: `visits` rows per centre (60 for clustering), at least 30 batches, at most three passes over the rows.
  const iterations = Math.ceil(Math.min(3 * n, Math.max(30 * BATCH, visits * k)) / BATCH);
  const count = new Float64Array(k);
  const best = { c: 0, s: 0 };
  const batch = new Int32Array(BATCH);
  const home = new Int32Array(BATCH);
  const scratch = new Float32Array(k);
  const tick = ticker(opts.signal);
  for (let it = 0; it < iterations; it++) {
    for (let b = 0; b < BATCH; b++) batch[b] = Math.floor(random() * n);
    for (let b = 0; b < BATCH; b++) {
      nearestCentroid(data, batch[b], centroids, k, d, best, scratch);
      home[b] = best.c;
      const turn = tick(); // a batch is 1,024 × k dot products: tens of ms at k in the hundreds
      if (turn) await turn;
    }
    for (let b = 0; b < BATCH; b++) {
      if (zero[batch[b]]) continue;
      const c = home[b];
      const eta = 1 / ++count[c];
      for (let t = 0, o = batch[b] * d; t < d; t++) centroids[c * d + t] += eta * (data[o + t] - centroids[c * d + t]);
    }
    normaliseCentroids(centroids, k, d);
    const turn = tick();
    if (turn) await turn;
  }
}
