import type { PlannedChunk } from './sources/planned-chunk.js';

export interface RandomStrategy {
  type: 'random';
  num_samples: number;
  chunks_per_sample: number;
  seed?: number;
  with_replacement?: boolean;
}

/** mulberry32: a tiny seeded PRNG, so the same seed draws the same samples on every machine. */
function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Fair-Forge's RandomSamplingStrategy: `num_samples` samples of `chunks_per_sample` distinct chunks
 * each. Without replacement a chunk is used by at most one sample; with it, samples may share chunks.
 */
export function drawSamples(chunks: PlannedChunk[], strategy: RandomStrategy): PlannedChunk[][] {
  const random = prng(strategy.seed ?? 42);
  const pool = chunks.map((_, i) => i);
  const samples: PlannedChunk[][] = [];
  for (let s = 0; s < strategy.num_samples; s++) {
    const source = strategy.with_replacement ? chunks.map((_, i) => i) : pool;
    const picked: number[] = [];
    for (let k = 0; k < strategy.chunks_per_sample && source.length > 0; k++) {
      const j = Math.floor(random() * source.length);
      picked.push(source[j]);
      source.splice(j, 1);
    }
    samples.push(picked.sort((a, b) => a - b).map((i) => chunks[i]));
  }
  return samples;
}
