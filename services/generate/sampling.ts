import { pacer } from '../../src/pacer.js';
import type { PlannedChunk } from './sources/planned-chunk.js';

export interface RandomStrategy {
  type: 'random';
  num_samples: number;
  chunks_per_sample: number;
  seed?: number;
  with_replacement?: boolean;
}

/** mulberry32: a tiny seeded PRNG, so the same seed draws the same samples on every machine. */
export function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Positions 0..n-1, each present or not; the j-th present one found and removed in O(log n) (a Fenwick tree). */
class Positions {
  private readonly tree: Int32Array;
  private readonly top: number;
  constructor(private readonly n: number) {
    this.tree = new Int32Array(n + 1);
    for (let i = 1; i <= n; i++) {
      this.tree[i] += 1;
      const up = i + (i & -i);
      if (up <= n) this.tree[up] += this.tree[i];
    }
    this.top = n === 0 ? 0 : 2 ** Math.floor(Math.log2(n));
  }
  private add(position: number, delta: number) {
    for (let i = position + 1; i <= this.n; i += i & -i) this.tree[i] += delta;
  }
  /** The j-th (0-based) present position, in ascending order. */
  nth(j: number): number {
    let at = 0;
    for (let step = this.top; step > 0; step >>= 1) {
      if (at + step <= this.n && this.tree[at + step] <= j) {
        at += step;
        j -= this.tree[at];
      }
    }
    return at;
  }
  remove(position: number) {
    this.add(position, -1);
  }
  restore(position: number) {
    this.add(position, 1);
  }
}

/** Chunks the samples will take in all, known before drawing them. */
export function sampledChunkCount(chunks: number, strategy: RandomStrategy): number {
  return strategy.with_replacement ? strategy.num_samples * Math.min(strategy.chunks_per_sample, chunks) : Math.min(chunks, strategy.num_samples * strategy.chunks_per_sample);
}

/**
 * Fair-Forge's RandomSamplingStrategy: `num_samples` samples of `chunks_per_sample` distinct chunks
 * each. Without replacement a chunk is used by at most one sample; with it, samples may share chunks.
 * Each pick is the j-th remaining chunk for j = ⌊random × remaining⌋ (the same draws as removing
 * picks from a list, so a seed keeps its samples), found in O(log n) instead of a list splice.
 */
export async function drawSamples(chunks: PlannedChunk[], strategy: RandomStrategy, pace = pacer()): Promise<PlannedChunk[][]> {
  const random = prng(strategy.seed ?? 42);
  const available = new Positions(chunks.length);
  let remaining = chunks.length;
  const samples: PlannedChunk[][] = [];
  for (let s = 0; s < strategy.num_samples; s++) {
    const picked: number[] = [];
    for (let k = 0; k < strategy.chunks_per_sample && remaining > 0; k++) {
      const position = available.nth(Math.floor(random() * remaining));
      picked.push(position);
      available.remove(position);
      remaining--;
    }
    if (strategy.with_replacement) {
      for (const position of picked) available.restore(position);
      remaining = chunks.length;
    }
    samples.push(picked.sort((a, b) => a - b).map((i) => chunks[i]));
    await pace();
  }
  return samples;
}
