import { sql } from 'drizzle-orm';
import { bigserial, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { runs } from './runs.table.js';

/** The unit of work a worker claims. `key` is deterministic so re-planning a run never duplicates work. */
export const tasks = pgTable(
  'tasks',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    runId: text('run_id').notNull().references(() => runs.id, { onDelete: 'cascade' }),
    key: text('key').notNull(),
    kind: text('kind').notNull(),
    payload: jsonb('payload').notNull(),
    status: text('status').notNull().default('queued'),
    attempts: integer('attempts').notNull().default(0),
    maxAttempts: integer('max_attempts').notNull().default(3),
    runAt: timestamp('run_at', { withTimezone: true }).notNull().defaultNow(),
    leaseUntil: timestamp('lease_until', { withTimezone: true }),
    workerId: text('worker_id'),
    lastError: jsonb('last_error'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('tasks_run_key').on(t.runId, t.key),
    // The reaper scans only leased rows; the index stays small as work finishes.
    index('tasks_running_lease').on(t.leaseUntil).where(sql`status = 'running'`),
    // A run's tasks by status (its counts, its tasks in flight) and, for status 'queued', in claim
    // order: the claim reads each in-flight run's next due tasks here. One index rather than a
    // partial one beside it, so that a planner without statistics (PGlite) cannot pick the wrong one.
    index('tasks_run_status').on(t.runId, t.status, t.runAt, t.id),
  ],
);
