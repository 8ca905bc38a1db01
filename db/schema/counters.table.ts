import { doublePrecision, integer, pgTable, primaryKey, text } from 'drizzle-orm/pg-core';
import { datasets } from './datasets.table.js';
import { runs } from './runs.table.js';

/**
 * What each writer (a worker's committer) added to a run's counters: a run's figures are its row's
 * plus the sum of these. Each writer updates only its own row, so commits of one run on many
 * machines never wait for each other on a hot row.
 */
export const runCounters = pgTable(
  'run_counters',
  {
    runId: text('run_id').notNull().references(() => runs.id, { onDelete: 'cascade' }),
    writer: text('writer').notNull(),
    total: integer('total').notNull().default(0),
    done: integer('done').notNull().default(0),
    failed: integer('failed').notNull().default(0),
    records: integer('records').notNull().default(0),
    requests: integer('requests').notNull().default(0),
    inputTokens: integer('input_tokens').notNull().default(0),
    outputTokens: integer('output_tokens').notNull().default(0),
    costUsd: doublePrecision('cost_usd').notNull().default(0),
    cacheHits: integer('cache_hits').notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.runId, t.writer] })],
);

/** Records each writer added to a dataset, as run_counters does for runs: record_count plus these. */
export const datasetCounts = pgTable(
  'dataset_counts',
  {
    datasetId: text('dataset_id').notNull().references(() => datasets.id, { onDelete: 'cascade' }),
    writer: text('writer').notNull(),
    n: integer('n').notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.datasetId, t.writer] })],
);
