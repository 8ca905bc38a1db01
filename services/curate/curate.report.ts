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
