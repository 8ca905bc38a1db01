import { sql } from 'drizzle-orm';
import { doublePrecision, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';

/** One row per job. Counters live here so progress is one read and completion is detected under the row lock. */
export const runs = pgTable(
  'runs',
  {
    id: text('id').primaryKey(),
    owner: text('owner').notNull().default(''),
    kind: text('kind').notNull(),
    status: text('status').notNull().default('queued'),
    spec: jsonb('spec').notNull(),
    idempotencyKey: text('idempotency_key'),
    requestHash: text('request_hash'),
    total: integer('total').notNull().default(0),
    done: integer('done').notNull().default(0),
    failed: integer('failed').notNull().default(0),
    records: integer('records').notNull().default(0),
    requests: integer('requests').notNull().default(0),
    inputTokens: integer('input_tokens').notNull().default(0),
    outputTokens: integer('output_tokens').notNull().default(0),
    costUsd: doublePrecision('cost_usd').notNull().default(0),
    /** Teacher calls the response cache answered (no request, no cost). */
    cacheHits: integer('cache_hits').notNull().default(0),
    output: jsonb('output').notNull().default(sql`'{}'::jsonb`),
    error: jsonb('error'),
    /** Most tasks of this run in flight at once, across all workers (DeepFabric's batch_size); null = no cap. */
    maxConcurrency: integer('max_concurrency'),
    /**
     * Bumped by every claim that takes tasks of a capped run. A claimer whose snapshot predates the
     * bump finds it changed when it locks the row and leaves the run alone, so two claimers racing
     * for the same cap cannot both fill it.
     */
    claimSeq: integer('claim_seq').notNull().default(0),
    /** Most the run may cost, USD (`max_cost_usd`); null = no budget. A pipeline's covers its stages. */
    maxCostUsd: doublePrecision('max_cost_usd'),
    /**
     * Set by the commit that found the run over its budget (db/run-cost.ts: spent, projected,
     * budget): the claim takes no more of its tasks, and once those in flight are committed the run
     * ends `failed` with reason `budget_exceeded`. A retry clears it.
     */
    budgetExceeded: jsonb('budget_exceeded'),
    /** Set on a pipeline's stage runs: the pipeline run and the stage's position in it. */
    parentRunId: text('parent_run_id'),
    stage: integer('stage'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    startedAt: timestamp('started_at', { withTimezone: true }),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
  },
  (t) => [
    uniqueIndex('runs_owner_idempotency_key').on(t.owner, t.idempotencyKey),
    index('runs_owner_created').on(t.owner, t.createdAt),
    index('runs_parent').on(t.parentRunId),
    // The per-key quota counts these on every new run: the count stays as small as the runs in flight.
    index('runs_owner_in_flight').on(t.owner).where(sql`status in ('queued', 'running') and parent_run_id is null`),
    // Every claim starts from the runs in flight (a handful), not from the queued tasks (maybe 100,000).
    index('runs_in_flight').on(t.id).where(sql`status in ('queued', 'running')`),
  ],
);
