import { EdgeList } from './edges.js';
import { dot, prng, ticker, type VectorOpts, type VectorSet } from './vector-set.js';

/**
 * Random-hyperplane LSH (Charikar's SimHash) with banding, for "every pair above a high threshold".
 * A pair at cosine s agrees on one hyperplane's sign with p = 1 − acos(s)/π; a band of b bits
 * collides with p^b, and one of L bands with 1 − (1 − p^b)^L. L is chosen so that a pair exactly at
 * the threshold is proposed with probability ≥ 0.998 (pairs above it more often); every proposal is
 * verified with an exact dot product, so no pair below the threshold is ever reported.
 *
 * The hyperplanes are pseudo-random rotations H·D3·H·D2·H·D1 (fast Walsh–Hadamard with random
 * signs, as in Andoni et al. 2015): 512 sign bits for the price of ~40 dot products instead of 512.
 */
const MISS = 0.002;
const MAX_BANDS = 128;
const SEED = 0x5eed1234;

/** Bits per band and bands, for `n` rows and cosine `threshold`. */
export function lshPlan(n: number, threshold: number): { bits: number; bands: number } {
  const p = 1 - Math.acos(Math.min(1, threshold)) / Math.PI;
  const bandsFor = (b: number) => Math.max(1, Math.ceil(Math.log(MISS) / Math.log(1 - p ** b)));
  // About four random rows per bucket: enough bits that unrelated rows rarely meet.
  let bits = Math.min(24, Math.max(8, Math.ceil(Math.log2(Math.max(2, n))) - 2));
  while (bits > 8 && bandsFor(bits) > MAX_BANDS) bits--;
  return { bits, bands: bandsFor(bits) };
}

function fwht(x: Float32Array): void {
  for (let h = 1; h < x.length; h *= 2) {
    for (let i = 0; i < x.length; i += h * 2) {
      for (let j = i; j < i + h; j++) {
        const a = x[j];
        const b = x[j + h];
        x[j] = a + b;
        x[j + h] = a - b;
      }
    }
  }
}

/** `words` 32-bit words of sign bits per row (rows × words, row-major). */
async function signatures(set: VectorSet, totalBits: number, opts: VectorOpts): Promise<{ sig: Uint32Array; words: number }> {
  const { n, dims, data } = set;
  let size = 1;
  while (size < dims) size *= 2;
  const rotations = Math.ceil(totalBits / size);
  const random = prng(SEED);
  const signs = Array.from({ length: rotations * 3 }, () => Float32Array.from({ length: size }, () => (random() < 0.5 ? -1 : 1)));
  const words = Math.ceil((rotations * size) / 32);
  const sig = new Uint32Array(n * words);
  const buf = new Float32Array(size);
  const tick = ticker(opts.signal);
  for (let i = 0; i < n; i++) {
    for (let r = 0; r < rotations; r++) {
      buf.fill(0);
      buf.set(data.subarray(i * dims, i * dims + dims));
      for (let round = 0; round < 3; round++) {
        const s = signs[r * 3 + round];
        for (let k = 0; k < size; k++) buf[k] *= s[k];
        fwht(buf);
      }
      const base = r * size;
      for (let k = 0; k < size; k++) if (buf[k] > 0) sig[i * words + ((base + k) >>> 5)] |= 1 << ((base + k) & 31);
    }
    const turn = tick();
    if (turn) await turn;
  }
  return { sig, words };
}

function bandKey(sig: Uint32Array, row: number, words: number, from: number, bits: number): number {
  let key = 0;
  for (let b = 0; b < bits; b++) {
    const bit = from + b;
    key = key * 2 + ((sig[row * words + (bit >>> 5)] >>> (bit & 31)) & 1);
  }
  return key;
}

/**
 * Pairs above `threshold` proposed by LSH and verified exactly, each once. A group of m rows all in
 * one bucket costs m²/2 dot products (m exact duplicates also give m²/2 edges): exact dedup first.
 */
export async function lshPairs(set: VectorSet, threshold: number, zero: Uint8Array, opts: VectorOpts): Promise<EdgeList> {
  const { n, dims, data } = set;
  const { bits, bands } = lshPlan(n, threshold);
  const { sig, words } = await signatures(set, bits * bands, opts);
  const rows = Int32Array.from({ length: n }, (_, i) => i).filter((i) => !zero[i]);
  const m = rows.length;
  // Every band's key of every row (bands × rows, 4 bytes each): a pair that met in an earlier band is
  // not compared again, so close pairs (which meet in many bands) cost one dot product and one edge.
  const keys = new Int32Array(bands * m);
  const tick = ticker(opts.signal);
  for (let band = 0; band < bands; band++) {
    for (let r = 0; r < m; r++) keys[band * m + r] = bandKey(sig, rows[r], words, band * bits, bits);
    const turn = tick();
    if (turn) await turn;
  }
  const keyed = new Float64Array(m);
  const SHIFT = 2 ** 26; // row positions < 2^26 (LIMITS.vectorFloats / 8 dims), keys < 2^24: exact in a double
  const edges = new EdgeList();
  const metBefore = (band: number, a: number, b: number) => {
    for (let l = 0; l < band; l++) if (keys[l * m + a] === keys[l * m + b]) return true;
    return false;
  };
  for (let band = 0; band < bands; band++) {
    for (let r = 0; r < m; r++) keyed[r] = keys[band * m + r] * SHIFT + r;
    keyed.sort();
    const sorted = tick();
    if (sorted) await sorted;
    for (let lo = 0; lo < m; ) {
      const key = Math.floor(keyed[lo] / SHIFT);
      let hi = lo + 1;
      while (hi < m && Math.floor(keyed[hi] / SHIFT) === key) hi++;
      for (let a = lo; a < hi; a++) {
        const ra = keyed[a] - key * SHIFT;
        for (let b = a + 1; b < hi; b++) {
          const rb = keyed[b] - key * SHIFT;
          if (band > 0 && metBefore(band, ra, rb)) continue;
          const s = dot(data, rows[ra], data, rows[rb], dims);
          if (s > threshold) edges.push(rows[ra], rows[rb], s);
        }
        // A bucket of thousands of rows (templated, near-identical texts) is millions of dot products:
        // look at the clock per row of it, not per bucket (a 6.7 s stall at 300,000 records).
        const turn = tick();
        if (turn) await turn;
      }
      lo = hi;
      const turn = tick();
      if (turn) await turn;
    }
  }
  return edges;
}
