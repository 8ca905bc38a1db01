import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import { rows, type Executor } from './client.js';
import { records } from './schema/index.js';

/**
 * Records of one dataset by id, in id order. A select run's score and write tasks carry record ids
 * (a few bytes each) instead of the records, so a million-record run plans small payloads and
 * reads each batch when it runs; the (dataset_id, id) primary index answers each lookup.
 */
export async function recordsByIds(ex: Executor, datasetId: string, ids: number[]): Promise<Array<{ id: number; key: string; data: unknown }>> {
  if (ids.length === 0) return [];
  return ex
    .select({ id: records.id, key: records.key, data: records.data })
    .from(records)
    .where(and(eq(records.datasetId, datasetId), inArray(records.id, ids)))
    .orderBy(asc(records.id));
}

/** Records of the run's datasets: selected and unselected, for its report. */
export async function recordCounts(ex: Executor, datasetIds: string[]): Promise<Map<string, number>> {
  if (datasetIds.length === 0) return new Map();
  const found = await rows<{ dataset_id: string; n: number }>(
    ex,
    sql`select dataset_id, count(*)::int as n from records where dataset_id = any(${sql.param(datasetIds)}::text[]) group by 1`,
  );
  return new Map(found.map((r) => [r.dataset_id, r.n]));
}
