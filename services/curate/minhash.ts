/**
 * MinHash signatures and LSH banding for near-duplicate detection.
 *
 * Written here rather than taken from npm: the packages that offer it (`minhash`, `bloom-filters`)
 * compute (a·x + b) mod p in float64, which is exact only for small inputs and silently loses
 * bits for 32-bit shingle hashes. Here every hash is 32-bit integer arithmetic (Math.imul).
 */
const PERMUTATIONS = 128;
const BANDS = 16; // 16 bands × 8 rows: pairs above ~0.7 Jaccard almost always share a band.
const ROWS = PERMUTATIONS / BANDS;
const SEEDS = Array.from({ length: PERMUTATIONS }, (_, i) => fmix32(0x9e3779b9 ^ Math.imul(i + 1, 0x85ebca6b)));

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Character 4-grams of the normalised text: robust for short questions, where word n-grams are too few. */
export function shingles(text: string, size = 4): Set<string> {
  const t = normalise(text);
  const out = new Set<string>();
  if (t.length <= size) {
    if (t) out.add(t);
    return out;
  }
  for (let i = 0; i + size <= t.length; i++) out.add(t.slice(i, i + size));
  return out;
}

export const normalise = (text: string) => text.toLowerCase().normalize('NFKC').replace(/[^\p{L}\p{N}]+/gu, ' ').trim();

export function signature(text: string): Uint32Array {
  const sig = new Uint32Array(PERMUTATIONS).fill(0xffffffff);
  for (const sh of shingles(text)) {
    const base = fnv1a(sh);
    for (let i = 0; i < PERMUTATIONS; i++) {
      const h = fmix32(base ^ SEEDS[i]);
      if (h < sig[i]) sig[i] = h;
    }
  }
  return sig;
}

/** Fraction of equal signature slots: an unbiased estimate of the Jaccard similarity of the shingle sets. */
export function similarity(a: Uint32Array, b: Uint32Array): number {
  let same = 0;
  for (let i = 0; i < PERMUTATIONS; i++) same += a[i] === b[i] ? 1 : 0;
  return same / PERMUTATIONS;
}

/** An LSH index: candidates share at least one band; callers confirm with `similarity`. */
export class LshIndex<K> {
  private readonly buckets = Array.from({ length: BANDS }, () => new Map<string, K[]>());
  private readonly signatures = new Map<K, Uint32Array>();

  add(key: K, sig: Uint32Array): void {
    this.signatures.set(key, sig);
    for (let b = 0; b < BANDS; b++) {
      const band = bandKey(sig, b);
      const list = this.buckets[b].get(band);
      if (list) list.push(key);
      else this.buckets[b].set(band, [key]);
    }
  }

  /** The most similar indexed key at or above `threshold`, if any. */
  nearest(sig: Uint32Array, threshold: number): { key: K; similarity: number } | undefined {
    let best: { key: K; similarity: number } | undefined;
    const seen = new Set<K>();
    for (let b = 0; b < BANDS; b++) {
      for (const key of this.buckets[b].get(bandKey(sig, b)) ?? []) {
        if (seen.has(key)) continue;
        seen.add(key);
        const s = similarity(sig, this.signatures.get(key)!);
        if (s >= threshold && (!best || s > best.similarity)) best = { key, similarity: s };
      }
    }
    return best;
  }
}

const bandKey = (sig: Uint32Array, band: number) => sig.subarray(band * ROWS, (band + 1) * ROWS).join(',');
