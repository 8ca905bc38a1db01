import { and, desc, eq, sql } from 'drizzle-orm';
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

/** The node records of a topics resource, in the order they were written. */
export async function topicNodes(ex: Executor, datasetId: string, limit = 200_000): Promise<Array<Record<string, unknown>>> {
  const rows = await ex.select({ data: records.data }).from(records).where(eq(records.datasetId, datasetId)).orderBy(records.id).limit(limit);
  return rows.map((r) => r.data as Record<string, unknown>);
}

/** An imported structure: its dataset, node records and topics row in one transaction. */
export async function insertImportedTopics(
  db: Db,
  input: { id: string; owner: string; mode: string; datasetId: string; meta: Record<string, unknown>; nodes: Array<{ id: string; data: unknown }> },
): Promise<TopicsRow> {
  return db.transaction(async (tx) => {
    await tx.insert(datasets).values({ id: input.datasetId, owner: input.owner, name: `topics ${input.id}`, meta: { kind: 'topics' }, recordCount: input.nodes.length });
    for (let i = 0; i < input.nodes.length; i += 1000) {
      await tx.insert(records).values(input.nodes.slice(i, i + 1000).map((n) => ({ datasetId: input.datasetId, key: n.id, data: n.data })));
    }
    const [row] = await tx.insert(topics).values({ id: input.id, owner: input.owner, mode: input.mode, datasetId: input.datasetId, meta: input.meta }).returning();
    return row;
  });
}
