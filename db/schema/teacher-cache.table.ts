import { index, integer, jsonb, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * The response cache: one teacher answer per (owner, call key). The key (src/llm/call-key.ts)
 * hashes what determines the answer; the owner scopes it, so one API key never receives an answer
 * another key paid for (nor learns what another asked). `response` is the answer without `via`;
 * `bytes` its JSON size, summed for the size bound; `last_used_at` orders the least recently used
 * first when the bound evicts.
 */
export const teacherCache = pgTable(
  'teacher_cache',
  {
    owner: text('owner').notNull(),
    key: text('key').notNull(),
    provider: text('provider').notNull(),
    model: text('model').notNull(),
    response: jsonb('response').notNull(),
    bytes: integer('bytes').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }).notNull().defaultNow(),
    hits: integer('hits').notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.owner, t.key] }), index('teacher_cache_last_used').on(t.lastUsedAt), index('teacher_cache_created').on(t.createdAt)],
);
