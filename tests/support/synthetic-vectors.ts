import { fromFlat, type VectorSet } from '../../services/vectors/vector-set.js';

/** Abramowitz–Stegun 7.1.26 (error < 1.5e-7). */
function erf(x: number): number {
  const t = 1 / (1 + 0.3275911 * x);
  return 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
}

/** mulberry32 + Box–Muller: the same vectors on every machine for a seed. */
function gaussian(seed: number): () => number {
  let a = seed >>> 0;
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 1) / 4294967297;
  };
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

export interface SyntheticVectors {
  set: VectorSet;
  /** Planted near-duplicate pairs [a, b] (a < b) at cosine `pairCosine`. */
  pairs: Array<[number, number]>;
}

/**
 * Clustered embeddings like a real dataset's: `clusters` random centres, each row a centre plus
 * Gaussian noise (cosine to its centre about `spread`, to a cluster mate about spread²), a share of
 * rows pure noise (outliers, default 2%), and `pairs` planted paraphrase pairs: the second row of a pair is the first turned
 * by exactly acos(pairCosine) in a random direction.
 */
export function syntheticVectors(o: { n: number; dims?: number; clusters?: number; noise?: number; pairs?: number; pairCosine?: number; spread?: number; seed?: number }): SyntheticVectors {
  const d = o.dims ?? 384;
  const clusters = o.clusters ?? 500;
  const spread = o.spread ?? 0.75;
  const pairCos = o.pairCosine ?? 0.95;
  const g = gaussian(o.seed ?? 1);
  const centres = new Float32Array(clusters * d);
  for (let k = 0; k < centres.length; k++) centres[k] = g();
  fromFlat(centres, d);
  const data = new Float32Array(o.n * d);
  // P(|N(0,1)| < x) = erf(x/√2): the cut that makes a `noise` share of rows pure noise (by bisection).
  const share = o.noise ?? 0.02;
  let lo = 0;
  let hi = 5;
  for (let it = 0; it < 60; it++) {
    const mid = (lo + hi) / 2;
    if (erf(mid / Math.SQRT2) < share) lo = mid;
    else hi = mid;
  }
  const noiseCut = lo;
  const noiseScale = Math.sqrt(1 / spread ** 2 - 1) / Math.sqrt(d);
  const pairCount = Math.min(o.pairs ?? Math.floor(o.n / 20), Math.floor(o.n / 2));
  const firstCopy = o.n - pairCount; // rows firstCopy.. are copies of rows 0..pairCount-1
  for (let i = 0; i < firstCopy; i++) {
    const noise = Math.abs(g()) < noiseCut;
    const c = Math.floor(Math.abs(g() * 1e6)) % clusters;
    for (let k = 0; k < d; k++) data[i * d + k] = noise ? g() : centres[c * d + k] + noiseScale * g();
  }
  fromFlat(data.subarray(0, firstCopy * d), d);
  const pairs: Array<[number, number]> = [];
  const u = new Float32Array(d);
  for (let p = 0; p < pairCount; p++) {
    const a = p * Math.max(1, Math.floor(firstCopy / pairCount));
    const b = firstCopy + p;
    let along = 0;
    for (let k = 0; k < d; k++) along += (u[k] = g()) * data[a * d + k];
    let norm = 0;
    for (let k = 0; k < d; k++) norm += (u[k] -= along * data[a * d + k]) ** 2;
    const side = Math.sqrt(1 - pairCos ** 2) / Math.sqrt(norm);
    for (let k = 0; k < d; k++) data[b * d + k] = pairCos * data[a * d + k] + side * u[k];
    pairs.push([a, b]);
  }
  return { set: fromFlat(data, d), pairs };
}
