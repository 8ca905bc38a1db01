import { integer, json, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';
import { runs } from './runs.table.js';

/**
 * `seq` is allocated from runs.event_seq inside the writing transaction, which holds the run row lock
 * until commit, so seq order is commit order and a replay `seq > n` never skips a late committer.
 */
export const runEvents = pgTable(
  'run_events',
  {
    runId: text('run_id').notNull().references(() => runs.id, { onDelete: 'cascade' }),
    seq: integer('seq').notNull(),
    type: text('type').notNull(),
    // json keeps the record's key order for streaming clients; events are written once and read whole.
    data: json('data').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.runId, t.seq] })],
);
