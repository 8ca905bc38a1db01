import { boolean, integer, index, jsonb, pgTable, smallint, text, timestamp } from 'drizzle-orm/pg-core';

export const datasets = pgTable(
  'datasets',
  {
    id: text('id').primaryKey(),
    owner: text('owner').notNull().default(''),
    name: text('name').notNull(),
    runId: text('run_id'),
    recordCount: integer('record_count').notNull().default(0),
    meta: jsonb('meta').notNull().default({}),
    /** Every record of it carries `unrenderable` (false: written before that column, or by a path that does not set it). */
    tagged: boolean('tagged').notNull().default(true),
    /**
     * Which contracts its records' tags answer for (TAG_VERSION in services/export/render-contract.ts):
     * 1 = chat, alpaca, fairforge; 2 = also the function-calling formats. Datasets made before
     * version 2 keep 1, so an export in a newer format reads them once instead of trusting tags
     * that never asked.
     */
    tagVersion: smallint('tag_version').notNull().default(2),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('datasets_owner_created').on(t.owner, t.createdAt)],
);
