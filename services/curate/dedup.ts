import { LshIndex, normalise, signature } from './minhash.js';
import { fullText, questionText } from './record-text.js';

export interface DedupOptions {
  exact?: boolean;
  /** Jaccard threshold for near duplicates of the question (MinHash/LSH); absent = off. */
  near?: number;
}

export interface Duplicate {
  key: string;
  reason: 'exact_duplicate' | 'near_duplicate';
  duplicate_of: string;
  similarity?: number;
}

/**
 * Finds duplicates in insertion order: the first occurrence is kept, each later one is reported
 * with the key of the record it repeats. Exact = same normalised full text; near = question
 * shingles at or above `near` estimated Jaccard similarity.
 */
export function findDuplicates(records: Array<{ key: string; data: Record<string, unknown> }>, options: DedupOptions): Duplicate[] {
  const exactSeen = new Map<string, string>();
  const index = new LshIndex<string>();
  const duplicates: Duplicate[] = [];
  for (const { key, data } of records) {
    if (options.exact !== false) {
      const text = normalise(fullText(data));
      const first = exactSeen.get(text);
      if (first !== undefined) {
        duplicates.push({ key, reason: 'exact_duplicate', duplicate_of: first });
        continue;
      }
      exactSeen.set(text, key);
    }
    if (options.near !== undefined) {
      const sig = signature(questionText(data));
      const match = index.nearest(sig, options.near);
      if (match) {
        duplicates.push({ key, reason: 'near_duplicate', duplicate_of: match.key, similarity: Math.round(match.similarity * 1000) / 1000 });
        continue;
      }
      index.add(key, sig);
    }
  }
  return duplicates;
}
