import { sql } from 'drizzle-orm';
import { bigint, index, integer, json, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { runs } from './runs.table.js';

/**
 * A run's event log. Commits append events with `seq` null, taking no lock on the run; the
 * sequencer (`quarry_sequence_events`, migration 0006) numbers them later, under a lock only it
 * takes, in the order they became visible: a seq is never given below one already given, so a
 * replay `seq > n` never skips a late committer. A `record.created` event points at its record
 * (`record_id`) instead of holding a copy; the reader joins it back.
 */
export const runEvents = pgTable(
  'run_events',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    runId: text('run_id').notNull().references(() => runs.id, { onDelete: 'cascade' }),
    seq: integer('seq'),
    type: text('type').notNull(),
    // json keeps the key order for streaming clients; events are written once and read whole.
    data: json('data').notNull(),
    recordId: bigint('record_id', { mode: 'number' }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('run_events_run_seq').on(t.runId, t.seq), index('run_events_unsequenced').on(t.runId, t.id).where(sql`seq is null`)],
);
