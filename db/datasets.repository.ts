import { and, desc, eq, gt, sql } from 'drizzle-orm';
import { rows, type Db, type Executor } from './client.js';
import { datasets, records } from './schema/index.js';

export type DatasetRow = typeof datasets.$inferSelect;
export interface RecordRow {
  id: number;
  key: string;
  data: unknown;
}

const INSERT_CHUNK = 1000;

export async function createDataset(
  db: Db,
  dataset: { id: string; owner: string; name: string; meta?: Record<string, unknown> },
  items: Array<{ key: string; data: unknown }>,
): Promise<DatasetRow> {
  return db.transaction(async (tx) => {
    await tx.insert(datasets).values({ id: dataset.id, owner: dataset.owner, name: dataset.name, meta: dataset.meta ?? {} });
    for (let i = 0; i < items.length; i += INSERT_CHUNK) {
      await tx.insert(records).values(items.slice(i, i + INSERT_CHUNK).map((r) => ({ datasetId: dataset.id, key: r.key, data: r.data })));
    }
    const [row] = await tx.update(datasets).set({ recordCount: items.length }).where(eq(datasets.id, dataset.id)).returning();
    return row;
  });
}

export async function findDataset(ex: Executor, id: string, owner: string): Promise<DatasetRow | undefined> {
  const [row] = await ex.select().from(datasets).where(and(eq(datasets.id, id), eq(datasets.owner, owner)));
  return row;
}

export async function listDatasets(ex: Executor, owner: string, filter: { limit: number; before?: string }): Promise<DatasetRow[]> {
  const conditions = [eq(datasets.owner, owner)];
  if (filter.before) conditions.push(sql`(${datasets.createdAt}, ${datasets.id}) < (select created_at, id from datasets where id = ${filter.before})`);
  return ex.select().from(datasets).where(and(...conditions)).orderBy(desc(datasets.createdAt), desc(datasets.id)).limit(filter.limit);
}

/** Keyset page by record id: stable while a run is still appending. */
export async function recordsPage(ex: Executor, datasetId: string, after: number, limit: number): Promise<RecordRow[]> {
  return ex
    .select({ id: records.id, key: records.key, data: records.data })
    .from(records)
    .where(and(eq(records.datasetId, datasetId), gt(records.id, after)))
    .orderBy(records.id)
    .limit(limit);
}

/** Counts records lacking every one of the given top-level key sets (a format cannot render them). */
export async function countRecordsMissing(ex: Executor, datasetId: string, keySets: string[][]): Promise<{ n: number; example?: string }> {
  const satisfied = sql.join(
    keySets.map((keys) => sql`(${sql.join(keys.map((k) => sql`data::jsonb ? ${k}`), sql` and `)})`),
    sql` or `,
  );
  const [row] = await rows<{ n: number; example: string | null }>(
    ex,
    sql`select count(*)::int as n, min(key) as example from records where dataset_id = ${datasetId} and not (${satisfied})`,
  );
  return { n: row.n, example: row.example ?? undefined };
}

/** Refuses to delete a dataset a live run is still writing into. */
export async function deleteDataset(db: Db, id: string, owner: string): Promise<'deleted' | 'missing' | 'busy'> {
  return db.transaction(async (tx) => {
    const [row] = await rows<{ id: string; busy: boolean }>(
      tx,
      sql`select d.id, exists(select 1 from runs r where r.id = d.run_id and r.status in ('queued', 'running')) as busy
            from datasets d where d.id = ${id} and d.owner = ${owner} for update`,
    );
    if (!row) return 'missing';
    if (row.busy) return 'busy';
    await tx.delete(datasets).where(eq(datasets.id, id));
    return 'deleted';
  });
}

/** Curate outcomes by dataset, rating and rejection reason: what the curate report is built from. */
export async function curationCounts(ex: Executor, keptId: string, rejectedId: string) {
  return rows<{ kept: boolean; rating: number | null; reason: string | null; n: number }>(
    ex,
    sql`select dataset_id = ${keptId} as kept, (data->'curation'->>'rating')::int as rating, data->'rejection'->>'reason' as reason, count(*)::int as n
          from records where dataset_id in (${keptId}, ${rejectedId}) group by 1, 2, 3`,
  );
}

/** Records per dataset and per value of one top-level field (e.g. the flow of a rejected record). */
export async function countByDataset(ex: Executor, datasetIds: string[], field: string) {
  if (datasetIds.length === 0) return [];
  return rows<{ dataset_id: string; value: string | null; n: number }>(
    ex,
    sql`select dataset_id, data->>${field} as value, count(*)::int as n from records
         where dataset_id in (${sql.join(datasetIds.map((id) => sql`${id}`), sql`, `)}) group by 1, 2`,
  );
}

/** Rejected records by reason, with a few examples of why: for runs that drop what they generate. */
export async function rejectionSummary(ex: Executor, datasetId: string) {
  const byReason = await rows<{ reason: string | null; n: number }>(
    ex,
    sql`select data->'rejection'->>'reason' as reason, count(*)::int as n from records where dataset_id = ${datasetId} group by 1`,
  );
  const examples = await rows<{ key: string; question: string | null; detail: string | null }>(
    ex,
    sql`select key, data->>'question' as question, data->'rejection'->>'detail' as detail from records where dataset_id = ${datasetId} order by id limit 5`,
  );
  return { byReason, examples };
}
