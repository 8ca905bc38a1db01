import { sql } from 'drizzle-orm';
import { bigint, bigserial, index, integer, json, jsonb, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';

/**
 * One teacher call of a batch-mode run (`llm.mode: "batch"`), from the moment a task asks it until
 * its answer is read: `pending` (waiting to be grouped), `submitted` (in the batch `batch_id`),
 * `done` (`response` holds the answer) or `failed` (`error` holds the line's failure). Keyed like the
 * response cache, by owner and call key (src/llm/call-key.ts): a task that asks again after a
 * deferral finds its item, and two tasks asking the same question share one line.
 */
export const batchItems = pgTable(
  'batch_items',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    owner: text('owner').notNull(),
    key: text('key').notNull(),
    /** The run and task that first asked: whose output counts it, whose task is woken when it is answered. */
    runId: text('run_id').notNull(),
    taskId: bigint('task_id', { mode: 'number' }).notNull(),
    provider: text('provider').notNull(),
    model: text('model').notNull(),
    // json, not jsonb: the request and answer keep their key order (a schema's property order is the answer's).
    request: json('request').notNull(),
    state: text('state').notNull().default('pending'),
    batchId: text('batch_id'),
    /** Batches it has been in: an item whose batch expired or failed is submitted once more, then failed. */
    submissions: integer('submissions').notNull().default(0),
    response: json('response'),
    error: jsonb('error'),
    /** When a task first read the answer: that read carries its tokens and cost, later reads (after a deferral) none. */
    chargedAt: timestamp('charged_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('batch_items_owner_key').on(t.owner, t.key),
    // The submitter reads pending items per provider and model, oldest first.
    index('batch_items_pending').on(t.provider, t.model, t.createdAt).where(sql`state = 'pending'`),
    index('batch_items_batch').on(t.batchId),
    index('batch_items_run').on(t.runId, t.state),
  ],
);

/**
 * A provider batch, written `submitting` with its items before the provider is called, then
 * `submitted` with the provider's id: a worker that dies in between leaves a `submitting` row whose
 * `lease_until` runs out, and whoever recovers it first asks the provider for the batch by its local
 * id (`find`) before submitting anything. `ended`, `canceled`, `failed` are final.
 */
export const batches = pgTable(
  'batches',
  {
    id: text('id').primaryKey(),
    provider: text('provider').notNull(),
    model: text('model').notNull(),
    providerBatchId: text('provider_batch_id'),
    state: text('state').notNull().default('submitting'),
    lines: integer('lines').notNull(),
    /** Submitting: until when its submitter may still be calling the provider. Submitted: when it is next polled. */
    leaseUntil: timestamp('lease_until', { withTimezone: true }).notNull().defaultNow(),
    counts: jsonb('counts'),
    error: jsonb('error'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    submittedAt: timestamp('submitted_at', { withTimezone: true }),
    endedAt: timestamp('ended_at', { withTimezone: true }),
    /** When the provider's batch should be done: submitted + its completion window, or sooner as lines finish. */
    expectedEnd: timestamp('expected_end', { withTimezone: true }),
  },
  (t) => [
    uniqueIndex('batches_provider_batch').on(t.provider, t.providerBatchId),
    index('batches_open').on(t.state, t.leaseUntil).where(sql`state in ('submitting', 'submitted')`),
  ],
);
