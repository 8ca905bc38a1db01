import { createHash } from 'node:crypto';
import { loadVectors } from '../embeddings/embeddings.service.js';
import type { EmbeddingMethod } from '../embeddings/embedding-method.js';
import type { JobDeps } from '../jobs/job-deps.js';
import { fromFlat, nearestNeighbours } from '../vectors/index.js';

/**
 * Records per dataset the semantic diversity figure is measured on. A nearest neighbour is nearer
 * the more records there are, so datasets of different sizes are measured on samples of one size
 * (the smallest dataset's count, at most this): the figure compares spread, not size. It also
 * bounds the work: a 1,000,000-record dataset is measured on 20,000 of its records.
 */
export const DIVERSITY_SAMPLE = 20_000;

/** How the semantic diversity figure was computed, as the report shows it. */
export function methodNote(method: EmbeddingMethod): Record<string, unknown> {
  return method.kind === 'model'
    ? { kind: 'model', provider: method.provider, model: method.model, ...(method.dimensions ? { dimensions: method.dimensions } : {}) }
    : { kind: 'lexical', method: method.method, dims: method.dims, note: `lexical fallback, not a semantic model: ${method.reason}` };
}

/** The sample size every dataset of a compare is measured on: the smallest count, at most DIVERSITY_SAMPLE. */
export const diversitySampleSize = (counts: number[]) => Math.min(DIVERSITY_SAMPLE, ...counts);

/**
 * Semantic diversity of one dataset: the mean cosine distance (1 − similarity) from each record of
 * a seeded sample of `sampleSize` records to its nearest other record in that sample. The sample is
 * the records with the smallest hash of (seed, text hash, key), so it depends on neither input
 * order nor paging; every record is measured against all the others in the sample, not against
 * those before it. Higher is more varied; null below 2 records.
 */
export async function semanticDiversity(
  deps: Pick<JobDeps, 'database'>,
  owner: string,
  datasetId: string,
  method: EmbeddingMethod,
  sample: { size: number; seed: number },
  signal: AbortSignal,
): Promise<{ value: number | null; measured: number }> {
  const table = await loadVectors(deps, owner, datasetId, method, { signal });
  let vectors = table.vectors;
  if (vectors.n > sample.size) {
    const rank = table.rows.map((r, i) => ({ i, h: createHash('sha1').update(`${sample.seed}\u0000${r.hash}\u0000${r.key}`).digest('hex') }));
    rank.sort((a, b) => (a.h < b.h ? -1 : a.h > b.h ? 1 : 0));
    const chosen = rank.slice(0, sample.size).map((r) => r.i).sort((a, b) => a - b);
    const { dims, data } = vectors;
    const flat = new Float32Array(chosen.length * dims);
    chosen.forEach((row, j) => flat.set(data.subarray(row * dims, (row + 1) * dims), j * dims));
    vectors = fromFlat(flat, dims);
  }
  if (vectors.n < 2) return { value: null, measured: vectors.n };
  const { index, similarity } = await nearestNeighbours(vectors, { signal });
  let sum = 0;
  let n = 0;
  for (let i = 0; i < index.length; i++) {
    if (index[i] < 0) continue;
    sum += 1 - similarity[i];
    n++;
  }
  return { value: n === 0 ? null : Math.round((sum / n) * 10_000) / 10_000, measured: vectors.n };
}
