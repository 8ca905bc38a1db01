import { pacer } from '../../src/pacer.js';
import { AppError } from '../../src/errors.js';
import { LIMITS } from '../limits.js';

/**
 * Row-major unit-length vectors (a zero row stays zero and is similar to nothing). Float32 only:
 * 100,000 × 384 floats is 150 MB, and every algorithm here reads rows in place, without copies.
 */
export interface VectorSet {
  n: number;
  dims: number;
  data: Float32Array;
}

/** What every long-running function here takes: an abort signal, checked at every yield. */
export interface VectorOpts {
  signal?: AbortSignal;
}

const bad = (field: string, message: string) => new AppError('validation_failed', `${field}: ${message}`, [{ field, message }]);

function checkSize(n: number, dims: number): void {
  if (!Number.isInteger(dims) || dims < 1) throw bad('dims', `must be a positive integer (got ${dims})`);
  if (n * dims > LIMITS.vectorFloats) throw bad('vectors', `${n} × ${dims} floats exceed ${LIMITS.vectorFloats}`);
}

function normaliseRows(data: Float32Array, n: number, dims: number): void {
  for (let i = 0; i < n; i++) {
    const o = i * dims;
    let s = 0;
    for (let k = 0; k < dims; k++) s += data[o + k] * data[o + k];
    if (!(s > 0) || !Number.isFinite(s)) {
      data.fill(0, o, o + dims); // NaN, infinite or zero rows become zero rows: similar to nothing
      continue;
    }
    const inv = 1 / Math.sqrt(s);
    for (let k = 0; k < dims; k++) data[o + k] *= inv;
  }
}

/** Copies and normalises `rows` (each `dims` long; dims defaults to the first row's length, 1 if none). */
export function vectorSet(rows: ArrayLike<number>[], dims?: number): VectorSet {
  const d = dims ?? (rows[0]?.length || 1);
  checkSize(rows.length, d);
  const data = new Float32Array(rows.length * d);
  rows.forEach((row, i) => {
    if (row.length !== d) throw bad(`rows.${i}`, `has ${row.length} numbers, expected ${d}`);
    for (let k = 0; k < d; k++) data[i * d + k] = row[k];
  });
  normaliseRows(data, rows.length, d);
  return { n: rows.length, dims: d, data };
}

/** Wraps a flat row-major array without copying (normalising it in place): what loaders that page rows in fill. */
export function fromFlat(data: Float32Array, dims: number): VectorSet {
  if (data.length % dims !== 0) throw bad('data', `length ${data.length} is not a multiple of dims ${dims}`);
  const n = data.length / dims;
  checkSize(n, dims);
  normaliseRows(data, n, dims);
  return { n, dims, data };
}

/** Cosine of rows i and j of one set (rows are unit length): four accumulators let V8 pipeline the loop. */
export function dot(a: Float32Array, i: number, b: Float32Array, j: number, d: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  const oi = i * d;
  const oj = j * d;
  const end = d - (d % 4);
  let k = 0;
  for (; k < end; k += 4) {
    s0 += a[oi + k] * b[oj + k];
    s1 += a[oi + k + 1] * b[oj + k + 1];
    s2 += a[oi + k + 2] * b[oj + k + 2];
    s3 += a[oi + k + 3] * b[oj + k + 3];
  }
  for (; k < d; k++) s0 += a[oi + k] * b[oj + k];
  return s0 + s1 + s2 + s3;
}

/** Marks zero rows (after normalisation a row is unit length or all zero). */
export function zeroRows(set: VectorSet): Uint8Array {
  const zero = new Uint8Array(set.n);
  for (let i = 0; i < set.n; i++) {
    const o = i * set.dims;
    let any = false;
    for (let k = 0; k < set.dims && !any; k++) any = set.data[o + k] !== 0;
    zero[i] = any ? 0 : 1;
  }
  return zero;
}

/**
 * The yield every long loop calls: gives the event loop a turn every ~10 ms (a queue worker's lease
 * heartbeat keeps beating) and throws the signal's reason once aborted.
 */
export function ticker(signal?: AbortSignal): () => Promise<void> | undefined {
  const pace = pacer();
  signal?.throwIfAborted();
  return () => {
    const turn = pace();
    if (!turn) return undefined;
    return turn.then(() => signal?.throwIfAborted());
  };
}

/** mulberry32: a tiny seeded PRNG, so the same seed draws the same numbers on every machine. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export { bad as vectorError };
