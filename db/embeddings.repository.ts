import { and, asc, eq, gt, sql } from 'drizzle-orm';
import { rows, type Executor } from './client.js';
import { records } from './schema/index.js';

/** Hashes per read: one bound array each, so the statement text is the same whatever the batch. */
export const EMBEDDING_READ_BATCH = 1000;

/** A stored vector: float32 little-endian bytes (the caller decodes into its own table, no copy per row). */
export interface StoredVector {
  hash: string;
  dims: number;
  vector: Uint8Array;
}

const batches = <T>(items: T[], size: number) => Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));

/*
 * Reads seek the primary key once per hash (a lateral subquery on all three key columns; its
 * `limit 1` keeps the planner from flattening it into a hash join): that
 * plan holds before the table has statistics. A plain `text_hash = any($1)` or a join on unnest was
 * planned, on a freshly filled table, as a scan of every vector of the owner and model (Postgres,
 * 20,000 rows: 20-40 ms a batch, growing with the table; the lateral seeks: 10 ms, flat). Vectors
 * travel as base64 text: PGlite decodes bytea results about 5x slower (20,000 vectors of 384
 * floats: 9.1 s as bytea, 1.6 s as base64).
 */

/** The hashes among `hashes` that already have a vector for this owner and model (vectors not read). */
export async function cachedHashes(ex: Executor, owner: string, modelKey: string, hashes: string[]): Promise<Set<string>> {
  const found = new Set<string>();
  for (const batch of batches([...new Set(hashes)], EMBEDDING_READ_BATCH)) {
    const got = await rows<{ text_hash: string }>(
      ex,
      sql`select e.text_hash from unnest(${sql.param(batch)}::text[]) as h(hash)
            cross join lateral (select text_hash from embeddings where owner = ${owner} and model_key = ${modelKey} and text_hash = h.hash limit 1) e`,
    );
    for (const r of got) found.add(r.text_hash);
  }
  return found;
}

/** Stored vectors of `hashes` (at most EMBEDDING_READ_BATCH per statement); a hash without one is absent from the map. */
export async function readVectors(ex: Executor, owner: string, modelKey: string, hashes: string[]): Promise<Map<string, StoredVector>> {
  const out = new Map<string, StoredVector>();
  for (const batch of batches([...new Set(hashes)], EMBEDDING_READ_BATCH)) {
    const got = await rows<{ hash: string; dims: number; vector: string }>(
      ex,
      sql`select e.text_hash as hash, e.dims, encode(e.vector, 'base64') as vector from unnest(${sql.param(batch)}::text[]) as h(hash)
            cross join lateral (select text_hash, dims, vector from embeddings where owner = ${owner} and model_key = ${modelKey} and text_hash = h.hash limit 1) e`,
    );
    for (const r of got) out.set(r.hash, { hash: r.hash, dims: r.dims, vector: Buffer.from(r.vector, 'base64') });
  }
  return out;
}

/** Stores vectors; one another worker stored first wins (same text, same model: the same vector). */
export async function storeVectors(ex: Executor, owner: string, modelKey: string, vectors: Array<{ hash: string; vector: Float32Array }>): Promise<void> {
  for (const batch of batches(vectors, 200)) {
    await ex.execute(sql`insert into embeddings (owner, model_key, text_hash, dims, vector)
      select ${owner}, ${modelKey}, v.hash, v.dims, decode(v.vector, 'base64')
        from unnest(${sql.param(batch.map((v) => v.hash))}::text[], ${sql.param(batch.map((v) => v.vector.length))}::int[],
                    ${sql.param(batch.map((v) => float32Bytes(v.vector).toString('base64')))}::text[]) as v(hash, dims, vector)
      on conflict do nothing`);
  }
}

/** float32 little-endian bytes, whatever the machine's byte order. */
export function float32Bytes(vector: Float32Array): Buffer {
  const out = Buffer.alloc(vector.length * 4);
  for (let i = 0; i < vector.length; i++) out.writeFloatLE(vector[i], i * 4);
  return out;
}

/**
 * Record ids of a dataset in id order after `after`, each with the length of its JSON (what a dry
 * run counts as characters sent): a planner pages these, never record data.
 */
export async function recordIdsPage(ex: Executor, datasetId: string, after: number, limit: number): Promise<Array<{ id: number; chars: number }>> {
  return ex
    .select({ id: records.id, chars: sql<number>`length(${records.data}::text)`.mapWith(Number) })
    .from(records)
    .where(and(eq(records.datasetId, datasetId), gt(records.id, after)))
    .orderBy(asc(records.id))
    .limit(limit);
}

/** Records of a dataset with ids in (after, through], in id order, `limit` at most. */
export async function recordsInRange(ex: Executor, datasetId: string, after: number, through: number, limit: number) {
  return ex
    .select({ id: records.id, key: records.key, data: records.data })
    .from(records)
    .where(and(eq(records.datasetId, datasetId), gt(records.id, after), sql`${records.id} <= ${through}`))
    .orderBy(asc(records.id))
    .limit(limit);
}
