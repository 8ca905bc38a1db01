import { and, desc, eq, getTableColumns, sql } from 'drizzle-orm';
import type { Executor } from './client.js';
import { toolSets } from './schema/index.js';

export type ToolSetRow = typeof toolSets.$inferSelect;

/** One owner's tool set; another owner's is as absent as an unknown id. */
export async function findToolSet(ex: Executor, id: string, owner: string): Promise<ToolSetRow | undefined> {
  const [row] = await ex.select().from(toolSets).where(and(eq(toolSets.id, id), eq(toolSets.owner, owner)));
  return row;
}

export type ToolSetListRow = Omit<ToolSetRow, 'tools'>;

/**
 * Newest first, keyset-paged by (created_at, id) after `before`, like datasets and topics; without
 * the tools themselves (a set may hold megabytes of them, and a listing shows only the summary).
 */
export async function listToolSets(ex: Executor, owner: string, filter: { limit: number; before?: string }): Promise<ToolSetListRow[]> {
  const conditions = [eq(toolSets.owner, owner)];
  if (filter.before) {
    conditions.push(sql`(${toolSets.createdAt}, ${toolSets.id}) < (select created_at, id from tool_sets where id = ${filter.before} and owner = ${owner})`);
  }
  const { tools: _tools, ...listed } = getTableColumns(toolSets);
  return ex.select(listed).from(toolSets).where(and(...conditions)).orderBy(desc(toolSets.createdAt), desc(toolSets.id)).limit(filter.limit);
}

export async function insertToolSet(ex: Executor, input: Omit<typeof toolSets.$inferInsert, 'createdAt'>): Promise<ToolSetRow> {
  const [row] = await ex.insert(toolSets).values(input).returning();
  return row;
}
