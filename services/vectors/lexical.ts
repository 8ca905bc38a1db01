import { fromFlat, ticker, vectorError, type VectorOpts, type VectorSet } from './vector-set.js';
import { LIMITS } from '../limits.js';

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const MIN_GRAM = 3;
const MAX_GRAM = 5;

/**
 * Counts the text's character 3–5-grams into `row` by bucket (FNV-1a of the UTF-16 code units,
 * modulo dims). As scikit-learn's `char_wb`: lowercased, whitespace collapsed, each word padded with
 * one space either side, n-grams taken inside the padded words only (a word shorter than n
 * contributes no n-gram of that length).
 */
function countGrams(text: string, row: Float32Array, offset: number, dims: number): void {
  for (const word of text.toLowerCase().split(/\s+/)) {
    if (word === '') continue;
    const padded = ` ${word} `;
    for (let from = 0; from + MIN_GRAM <= padded.length; from++) {
      let h = FNV_OFFSET;
      for (let len = 1; len <= MAX_GRAM && from + len <= padded.length; len++) {
        h = Math.imul(h ^ padded.charCodeAt(from + len - 1), FNV_PRIME) >>> 0;
        if (len >= MIN_GRAM) row[offset + (h % dims)]++;
      }
    }
  }
}

/**
 * The lexical fallback when no embedding model is configured: hashed character 3–5-grams weighted
 * by sublinear tf (1 + ln count) × smoothed idf (ln((1 + N) / (1 + df)) + 1, over `texts`), unit
 * length. Deterministic (a fixed hash, no randomness) and depending only on the set of texts given:
 * the idf makes a row depend on the others, so callers compute it over the whole dataset at once.
 * Paraphrases share many n-grams, so it finds near-duplicates by spelling, not by meaning.
 * Empty text gives a zero row (similar to nothing).
 */
export async function lexicalVectors(texts: string[], dims = 512, opts: VectorOpts = {}): Promise<VectorSet> {
  if (!Number.isInteger(dims) || dims < 16 || dims > 65_536) throw vectorError('dims', `must be an integer from 16 to 65536 (got ${dims})`);
  const n = texts.length;
  if (n * dims > LIMITS.vectorFloats) throw vectorError('texts', `${n} texts × ${dims} dims exceed ${LIMITS.vectorFloats} floats`);
  const data = new Float32Array(n * dims);
  const df = new Float64Array(dims);
  const tick = ticker(opts.signal);
  for (let i = 0; i < n; i++) {
    countGrams(texts[i], data, i * dims, dims);
    for (let k = 0; k < dims; k++) if (data[i * dims + k] > 0) df[k]++;
    const turn = tick();
    if (turn) await turn;
  }
  const idf = df.map((f) => Math.log((1 + n) / (1 + f)) + 1);
  for (let i = 0; i < n; i++) {
    for (let k = 0, o = i * dims; k < dims; k++) if (data[o + k] > 0) data[o + k] = (1 + Math.log(data[o + k])) * idf[k];
    const turn = tick();
    if (turn) await turn;
  }
  return fromFlat(data, dims);
}
