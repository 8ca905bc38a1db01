import { sql } from 'drizzle-orm';
import { bigserial, index, json, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
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
    /**
     * The export contracts that refuse this record (`chat,alpaca`), decided when it was written;
     * null when every format renders it. An export checks these, not every record's JSON.
     */
    unrenderable: text('unrenderable'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('records_dataset_key').on(t.datasetId, t.key),
    uniqueIndex('records_dataset_id').on(t.datasetId, t.id),
    // Only the few records some format refuses: an export finds them, or that there are none, at once.
    index('records_unrenderable').on(t.datasetId, t.id).where(sql`unrenderable is not null`),
  ],
);
