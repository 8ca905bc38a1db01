import { pacer } from '../../src/pacer.js';
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
  const scan = duplicateScan(records, options);
  for (;;) {
    const step = scan.next();
    if (step.done) return step.value;
  }
}

/** `findDuplicates` for a planner: the same scan, giving the event loop a turn whenever `pace` says so. */
export async function findDuplicatesPaced(records: Array<{ key: string; data: Record<string, unknown> }>, options: DedupOptions, pace = pacer()): Promise<Duplicate[]> {
  const scan = duplicateScan(records, options);
  for (;;) {
    const step = scan.next();
    if (step.done) return step.value;
    const turn = pace();
    if (turn) await turn;
  }
}

/** Yields after each record, so a caller decides when to pause; returns the duplicates. */
function* duplicateScan(records: Array<{ key: string; data: Record<string, unknown> }>, options: DedupOptions): Generator<void, Duplicate[]> {
  const exactSeen = new Map<string, string>();
  const index = new LshIndex<string>();
  const duplicates: Duplicate[] = [];
  for (const { key, data } of records) {
    yield;
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
