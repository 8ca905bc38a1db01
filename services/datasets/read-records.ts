import type { Database } from '../../db/client.js';
import { findDataset, recordsPage, type DatasetRow } from '../../db/datasets.repository.js';
import { AppError } from '../../src/errors.js';

const PAGE = 1000;

/** Reads up to `limit` records of a dataset the caller owns, in insertion order; 400 naming `field` if it is not theirs. */
export async function readRecords(database: Database, owner: string, datasetId: string, limit: number, field = 'dataset_id') {
  const dataset: DatasetRow | undefined = await findDataset(database.db, datasetId, owner);
  if (!dataset) throw new AppError('validation_failed', `${field}: no dataset ${datasetId}`, [{ field, message: `no dataset ${datasetId}` }]);
  const records: Array<{ key: string; data: Record<string, unknown> }> = [];
  for (let after = 0; records.length < limit; ) {
    const page = await recordsPage(database.db, datasetId, after, Math.min(PAGE, limit - records.length));
    if (page.length === 0) break;
    after = page[page.length - 1].id;
    for (const r of page) records.push({ key: r.key, data: r.data as Record<string, unknown> });
    // Embedded PGlite answers without I/O, so a loop of queries would never let the event loop turn.
    await new Promise((resolve) => setImmediate(resolve));
  }
  return { dataset, records };
}

/**
 * The input of a job that takes `dataset_id` or inline `records` (exactly one was checked):
 * records keep their dataset keys, or get `r{index}` when inline.
 */
export async function inputRecords(database: Database, owner: string, spec: { dataset_id?: string; records?: Record<string, unknown>[] }, limit: number) {
  if (spec.dataset_id) return readRecords(database, owner, spec.dataset_id, limit);
  return { dataset: undefined, records: (spec.records ?? []).map((data, i) => ({ key: `r${i}`, data })) };
}
