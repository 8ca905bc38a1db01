import { bigserial, json, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { datasets } from './datasets.table.js';

/** `key` is deterministic (task key + position), so an insert repeated by a retry or a second worker is a no-op. */
export const records = pgTable(
  'records',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    datasetId: text('dataset_id').notNull().references(() => datasets.id, { onDelete: 'cascade' }),
    key: text('key').notNull(),
    // json, not jsonb: records come back with their keys in the order they were written.
    data: json('data').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('records_dataset_key').on(t.datasetId, t.key), uniqueIndex('records_dataset_id').on(t.datasetId, t.id)],
);
