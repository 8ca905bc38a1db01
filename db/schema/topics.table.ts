import { index, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { datasets } from './datasets.table.js';

/**
 * A topic tree or graph. Its nodes are records of `dataset_id` (key = node id), written by the
 * expansion tasks like any other records, so a crash or a retry can neither lose nor repeat a node.
 */
export const topics = pgTable(
  'topics',
  {
    id: text('id').primaryKey(),
    owner: text('owner').notNull().default(''),
    mode: text('mode').notNull(),
    datasetId: text('dataset_id').notNull().references(() => datasets.id, { onDelete: 'cascade' }),
    runId: text('run_id'),
    /** prompt, degree, depth, prompt_style, provider, model, temperature, and `source` for imports. */
    meta: jsonb('meta').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('topics_owner_created').on(t.owner, t.createdAt)],
);
