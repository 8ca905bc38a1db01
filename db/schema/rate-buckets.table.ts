import { doublePrecision, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * Token buckets of provider endpoints (src/llm/rate/), shared by every worker on the database. One
 * row per endpoint and key; each column is a balance that refills by elapsed time up to a burst
 * passed in by the taker (the limit may be learned, so it is not stored), and may go below zero: a
 * reservation whose taker waits off the debt. A dimension that is not limited keeps its value.
 */
export const rateBuckets = pgTable('rate_buckets', {
  /** `kind base_url sha256(api key)[:16]`: limits are per account and endpoint. */
  key: text('key').primaryKey(),
  requests: doublePrecision('requests').notNull(),
  tokens: doublePrecision('tokens').notNull(),
  inputTokens: doublePrecision('input_tokens').notNull(),
  outputTokens: doublePrecision('output_tokens').notNull(),
  refilledAt: timestamp('refilled_at', { withTimezone: true }).notNull().defaultNow(),
});
