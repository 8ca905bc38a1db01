import { loadVectors } from '../embeddings/embeddings.service.js';
import type { EmbeddingMethod } from '../embeddings/embedding-method.js';
import type { JobDeps } from '../jobs/job-deps.js';
import { nearestNeighbours } from '../vectors/index.js';

/** How the semantic diversity figure was computed, as the report shows it. */
export function methodNote(method: EmbeddingMethod): Record<string, unknown> {
  return method.kind === 'model'
    ? { kind: 'model', provider: method.provider, model: method.model, ...(method.dimensions ? { dimensions: method.dimensions } : {}) }
    : { kind: 'lexical', method: method.method, dims: method.dims, note: `lexical fallback, not a semantic model: ${method.reason}` };
}

/**
 * Semantic diversity of one dataset: the mean cosine distance (1 − similarity) from each record to
 * its nearest other record, over the whole dataset (order-independent: every record is measured
 * against all the others, not against those before it). Higher is more varied; null below 2 records.
 */
export async function semanticDiversity(deps: Pick<JobDeps, 'database'>, owner: string, datasetId: string, method: EmbeddingMethod, signal: AbortSignal): Promise<number | null> {
  const table = await loadVectors(deps, owner, datasetId, method, { signal });
  if (table.vectors.n < 2) return null;
  const { index, similarity } = await nearestNeighbours(table.vectors, { signal });
  let sum = 0;
  let n = 0;
  for (let i = 0; i < index.length; i++) {
    if (index[i] < 0) continue;
    sum += 1 - similarity[i];
    n++;
  }
  return n === 0 ? null : Math.round((sum / n) * 10_000) / 10_000;
}
