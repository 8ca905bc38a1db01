import type { Database } from '../../db/client.js';
import { curationCounts } from '../../db/datasets.repository.js';

/** Counts in → kept, rejections by reason and the rating histogram, from what the run has written so far. */
export async function curateReport(database: Database, output: { dataset_id?: string; rejected_dataset_id?: string }) {
  if (!output.dataset_id || !output.rejected_dataset_id) return {};
  const rows = await curationCounts(database.db, output.dataset_id, output.rejected_dataset_id);
  const histogram: Record<string, number> = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [String(i), 0]));
  const rejected: Record<string, number> = {};
  let kept = 0;
  for (const r of rows) {
    if (r.kept) kept += r.n;
    else if (r.reason) rejected[r.reason] = (rejected[r.reason] ?? 0) + r.n;
    if (r.rating !== null) histogram[String(r.rating)] += r.n;
  }
  return { kept, rejected, rating_histogram: histogram };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A semantic dedup run's figures, once its finisher has decided (`output.semantic_dedup`): the
 * planner's report has exact and near counts and `semantic: null` until then.
 */
export function semanticReport(output: unknown): Record<string, unknown> {
  if (!isObject(output) || !isObject(output.semantic_dedup) || !isObject(output.report)) return {};
  const s = output.semantic_dedup;
  const duplicates = isObject(output.report.duplicates) ? output.report.duplicates : {};
  return {
    duplicates: { ...duplicates, semantic: s.duplicates, embedding: s.embedding },
    semantic: { threshold: s.threshold, compared: s.compared },
    to_judge: s.to_judge,
  };
}
