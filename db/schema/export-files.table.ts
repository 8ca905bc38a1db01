import { bigint, customType, integer, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

const bytea = customType<{ data: Uint8Array; driverData: Uint8Array }>({ dataType: () => 'bytea' });

/**
 * The files an export run (POST /v1/export) wrote: one row per file, in Postgres so any API process
 * can serve them. A file is at most `max_shard_bytes` (services/export-job/export-job.spec.ts bounds
 * it), which keeps each row far below bytea's 1 GB limit.
 */
export const exportFiles = pgTable(
  'export_files',
  {
    runId: text('run_id').notNull(),
    owner: text('owner').notNull(),
    path: text('path').notNull(),
    split: text('split'),
    rows: integer('rows').notNull(),
    bytes: bigint('bytes', { mode: 'number' }).notNull(),
    sha256: text('sha256').notNull(),
    content: bytea('content').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.runId, t.path] })],
);
