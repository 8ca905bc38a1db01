import { setImmediate as nextTurn } from 'node:timers/promises';
import { and, desc, eq, gt, sql } from 'drizzle-orm';
import type { Db, Executor } from './client.js';
import { datasets, records, topics } from './schema/index.js';

export type TopicsRow = typeof topics.$inferSelect;

export async function findTopics(ex: Executor, id: string, owner: string): Promise<TopicsRow | undefined> {
  const [row] = await ex.select().from(topics).where(and(eq(topics.id, id), eq(topics.owner, owner)));
  return row;
}

export async function listTopics(ex: Executor, owner: string, filter: { limit: number; before?: string }): Promise<TopicsRow[]> {
  const conditions = [eq(topics.owner, owner)];
  if (filter.before) conditions.push(sql`(${topics.createdAt}, ${topics.id}) < (select created_at, id from topics where id = ${filter.before})`);
  return ex.select().from(topics).where(and(...conditions)).orderBy(desc(topics.createdAt), desc(topics.id)).limit(filter.limit);
}

/** Rows per read: an embedded database decodes a page on the event loop, so pages stay small. */
const PAGE = 500;
/** Rows per insert statement, for the same reason. */
const INSERT_SLICE = 500;

/** The node records of a topics resource, in the order they were written, read a page at a time. */
export async function topicNodes(ex: Executor, datasetId: string, limit = 200_000): Promise<Array<Record<string, unknown>>> {
  const out: Array<Record<string, unknown>> = [];
  for (let after = 0; out.length < limit; ) {
    const rows = await ex
      .select({ id: records.id, data: records.data })
      .from(records)
      .where(and(eq(records.datasetId, datasetId), gt(records.id, after)))
      .orderBy(records.id)
      .limit(Math.min(PAGE, limit - out.length));
    for (const r of rows) out.push(r.data as Record<string, unknown>);
    if (rows.length < PAGE) break;
    after = rows[rows.length - 1].id;
    await nextTurn();
  }
  return out;
}

/** An imported structure: its dataset, node records and topics row in one transaction. */
export async function insertImportedTopics(
  db: Db,
  input: { id: string; owner: string; mode: string; datasetId: string; meta: Record<string, unknown>; nodes: Array<{ id: string; data: unknown }> },
): Promise<TopicsRow> {
  return db.transaction(async (tx) => {
    await tx.insert(datasets).values({ id: input.datasetId, owner: input.owner, name: `topics ${input.id}`, meta: { kind: 'topics' }, recordCount: input.nodes.length, tagged: false });
    // One JSON parameter per slice (json, not jsonb, keeps each node's key order), in array order.
    for (let i = 0; i < input.nodes.length; i += INSERT_SLICE) {
      const slice = JSON.stringify(input.nodes.slice(i, i + INSERT_SLICE).map((n) => ({ key: n.id, data: n.data })));
      await tx.execute(sql`insert into records (dataset_id, key, data)
                           select ${input.datasetId}, r.v->>'key', r.v->'data' from json_array_elements(${slice}::json) with ordinality as r(v, n) order by r.n`);
      await nextTurn();
    }
    const [row] = await tx.insert(topics).values({ id: input.id, owner: input.owner, mode: input.mode, datasetId: input.datasetId, meta: input.meta }).returning();
    return row;
  });
}
