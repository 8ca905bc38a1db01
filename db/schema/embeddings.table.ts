import { customType, integer, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

/** float32 little-endian, `dims` of them: a quarter of the size of float8[] or JSON, and read without parsing. */
const bytea = customType<{ data: Uint8Array; driverData: Uint8Array }>({ dataType: () => 'bytea' });

/**
 * A record text's embedding, computed once per (owner, model, text) and reused by every later job
 * of that owner on any worker. `model_key` hashes the endpoint, model and dimensions, not a
 * provider's name; `text_hash` is the sha256 of the embedding text. Kept per owner so one API key
 * never learns what another embedded (a shared cache would answer "was this text seen?").
 */
export const embeddings = pgTable(
  'embeddings',
  {
    owner: text('owner').notNull(),
    modelKey: text('model_key').notNull(),
    textHash: text('text_hash').notNull(),
    dims: integer('dims').notNull(),
    vector: bytea('vector').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.owner, t.modelKey, t.textHash] })],
);
