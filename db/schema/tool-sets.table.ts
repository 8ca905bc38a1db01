import { index, json, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * A tool set: tool definitions as a caller sent them (Generator JSON, OpenAI, MCP, OpenAPI),
 * kept only in normalised form (`services/tools/tool.ts`), with Generator's `tool-parse` summary.
 */
export const toolSets = pgTable(
  'tool_sets',
  {
    id: text('id').primaryKey(),
    owner: text('owner').notNull().default(''),
    name: text('name').notNull(),
    /** The format the definition came in: generator, openai, mcp or openapi. */
    format: text('format').notNull(),
    // json, not jsonb: a tool's parameters keep their order (the order a model and a trainer see them in).
    tools: json('tools').notNull(),
    summary: json('summary').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('tool_sets_owner_created').on(t.owner, t.createdAt)],
);
