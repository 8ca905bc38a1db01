import { pipeline } from 'node:stream/promises';
import { and, desc, eq, gt, sql } from 'drizzle-orm';
import { PostgresJsSession } from 'drizzle-orm/postgres-js';
import type { Sql } from 'postgres';
import { rows, type Db, type Executor, type Tx } from './client.js';
import { datasetFields } from './counters.js';
import { analyzeNow } from './maintenance.js';
import { datasets, records } from './schema/index.js';

export type DatasetRow = typeof datasets.$inferSelect;
export interface RecordRow {
  id: number;
  key: string;
  data: unknown;
}

/**
 * Records per insert statement on import. Embedded PGlite runs each statement on the event loop, so a
 * slice is kept to a few ms and the loop gets a turn between slices (a 200,000-record import never
 * holds it for long).
 */
const INSERT_CHUNK = 250;

export async function createDataset(
  db: Db,
  dataset: { id: string; owner: string; name: string; meta?: Record<string, unknown> },
  items: Array<{ key: string; data: unknown; unrenderable?: string | null }>,
): Promise<DatasetRow> {
  // Tagged only if every record says which formats refuse it (records.unrenderable).
  const tagged = items.every((r) => r.unrenderable !== undefined);
  return db.transaction(async (tx) => {
    await tx.insert(datasets).values({ id: dataset.id, owner: dataset.owner, name: dataset.name, meta: dataset.meta ?? {}, tagged });
    for (let i = 0; i < items.length; i += INSERT_CHUNK) {
      await tx.insert(records).values(items.slice(i, i + INSERT_CHUNK).map((r) => ({ datasetId: dataset.id, key: r.key, data: r.data, unrenderable: r.unrenderable ?? null })));
      await new Promise((resolve) => setImmediate(resolve));
    }
    const [row] = await tx.update(datasets).set({ recordCount: items.length }).where(eq(datasets.id, dataset.id)).returning();
    return row;
  });
}

/**
 * Records handed to the database at once when an import streams in, and how many bytes of JSON at
 * most. Postgres takes them as COPY data; PGlite runs each insert on the event loop, where 250 rows
 * keep a statement to a few ms.
 */
export const IMPORT_BATCH = { postgres: { rows: 1000, bytes: 1024 ** 2 }, pglite: { rows: INSERT_CHUNK, bytes: 1024 ** 2 } } as const;

/**
 * Creates a dataset from batches of records' JSON texts as they arrive, all in one transaction: a
 * failure anywhere (a refused record, a dropped connection, the database) leaves no dataset and no
 * record. Record `i` gets the key `${keyPrefix}${i}`. The first batch is read before the
 * transaction opens, so a body refused early never takes a connection. `nameOf` is asked again at
 * the end: a body may name its dataset after its records.
 */
/** Records' JSON texts as an import reads them, each with the export contracts that refuse it (records.unrenderable). */
export interface ImportBatch {
  texts: string[];
  unrenderable: Array<string | null>;
}

export async function createDatasetFrom(
  db: Db,
  dataset: { id: string; owner: string; keyPrefix: string; meta?: Record<string, unknown> },
  batches: AsyncIterable<ImportBatch>,
  nameOf: () => string,
): Promise<DatasetRow> {
  const source = batches[Symbol.asyncIterator]();
  const first = await source.next();
  async function* all() {
    for (let batch = first; !batch.done; batch = await source.next()) yield batch.value;
  }
  const created = await db.transaction(async (tx) => {
    await tx.insert(datasets).values({ id: dataset.id, owner: dataset.owner, name: nameOf(), meta: dataset.meta ?? {} });
    const session = tx._.session;
    const count = session instanceof PostgresJsSession ? await copyRecords(session.client, dataset, all()) : await insertRecords(tx, dataset, all());
    const [row] = await tx.update(datasets).set({ name: nameOf(), recordCount: count }).where(eq(datasets.id, dataset.id)).returning();
    return row;
  });
  // So the first export or read of a big import pages by index (see maintenance.ts). The import has
  // landed either way: statistics that could not be refreshed now are refreshed later.
  if (created.recordCount >= ANALYZE_AFTER_RECORDS) await analyzeNow(db, 'records').catch(() => {});
  return created;
}

/** An import this large refreshes the records table's statistics at once. */
const ANALYZE_AFTER_RECORDS = 10_000;

/**
 * Postgres: COPY, one statement per COPY_ROWS records. A row costs the server ~17 µs of CPU here,
 * against ~22 µs in INSERT … SELECT FROM unnest (or multi-row VALUES, whose 2,000 parameters cost
 * the client more than the server saves): rows reach the table in batches with no statement per
 * batch, and the client only joins text. The foreign-key check of each row is queued until its
 * statement ends, so one COPY for millions of rows would hold millions of queued checks in the
 * backend's memory; COPY_ROWS keeps that bounded.
 */
const COPY_ROWS = 50_000;

async function copyRecords(client: Sql, dataset: { id: string; keyPrefix: string }, batches: AsyncIterable<ImportBatch>): Promise<number> {
  const source = batches[Symbol.asyncIterator]();
  let count = 0;
  let batch = await source.next();
  while (!batch.done) {
    const until = count + COPY_ROWS;
    async function* lines() {
      while (!batch.done && count < until) {
        let text = '';
        const { texts, unrenderable } = batch.value;
        for (let i = 0; i < texts.length; i++) text += `${dataset.id}\t${dataset.keyPrefix}${count++}\t${copyField(texts[i])}\t${unrenderable[i] ?? '\\N'}\n`;
        yield text;
        batch = await source.next();
      }
    }
    // A failure on either side ends both: the COPY is aborted (CopyFail) and the error comes out here.
    await pipeline(lines, await client`copy records (dataset_id, key, data, unrenderable) from stdin`.writable());
  }
  return count;
}

// COPY's text format: a backslash starts an escape, and tab, CR and LF end a field or a row. JSON
// text holds raw ones only as whitespace between tokens, and backslashes in its escapes.
const COPY_SPECIAL = /[\\\t\r\n]/;
const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\r': '\\r', '\n': '\\n' };
const copyField = (text: string) => (COPY_SPECIAL.test(text) ? text.replace(/[\\\t\r\n]/g, (c) => COPY_ESCAPES[c]) : text);

/** PGlite: each batch is one insert whose text is the same whatever its size (the JSON texts are one array parameter). */
async function insertRecords(tx: Tx, dataset: { id: string; keyPrefix: string }, batches: AsyncIterable<ImportBatch>): Promise<number> {
  let count = 0;
  for await (const { texts, unrenderable } of batches) {
    await tx.execute(
      sql`insert into records (dataset_id, key, data, unrenderable)
          select ${dataset.id}, ${dataset.keyPrefix} || (${count}::bigint + n - 1), d::json, u
            from unnest(${sql.param(texts)}::text[], ${sql.param(unrenderable)}::text[]) with ordinality as t(d, u, n)`,
    );
    count += texts.length;
  }
  return count;
}

export async function findDataset(ex: Executor, id: string, owner: string): Promise<DatasetRow | undefined> {
  const [row] = await ex.select(datasetFields).from(datasets).where(and(eq(datasets.id, id), eq(datasets.owner, owner)));
  return row;
}

export async function listDatasets(ex: Executor, owner: string, filter: { limit: number; before?: string }): Promise<DatasetRow[]> {
  const conditions = [eq(datasets.owner, owner)];
  if (filter.before) conditions.push(sql`(${datasets.createdAt}, ${datasets.id}) < (select created_at, id from datasets where id = ${filter.before})`);
  return ex.select(datasetFields).from(datasets).where(and(...conditions)).orderBy(desc(datasets.createdAt), desc(datasets.id)).limit(filter.limit);
}

/**
 * Most rows one page query asks for. Without table statistics (embedded PGlite runs no autovacuum)
 * Postgres guesses ~750 rows per dataset: above that LIMIT it picks a bitmap scan and sorts every
 * remaining record of the dataset on each page (200,000 records in 1,000-row pages: 9.2 s on PGlite);
 * below it, it walks the (dataset_id, id) index (1.4 s).
 */
const PAGE_QUERY_ROWS = 500;

/** Keyset page by record id: stable while a run is still appending. */
export async function recordsPage(ex: Executor, datasetId: string, after: number, limit: number): Promise<RecordRow[]> {
  const page: RecordRow[] = [];
  while (page.length < limit) {
    const want = Math.min(PAGE_QUERY_ROWS, limit - page.length);
    const rows = await ex
      .select({ id: records.id, key: records.key, data: records.data })
      .from(records)
      .where(and(eq(records.datasetId, datasetId), gt(records.id, after)))
      .orderBy(records.id)
      .limit(want);
    page.push(...rows);
    if (rows.length < want) break;
    after = rows[rows.length - 1].id;
  }
  return page;
}

/**
 * The records of a dataset that an export contract refuses, by the tag each was written with: how
 * many, and the first `limit`. Read from an index of refused records only, so a dataset with none
 * answers at once whatever its size.
 */
export async function refusedRecords(ex: Executor, datasetId: string, contract: string, limit: number): Promise<{ count: number; first: RecordRow[] }> {
  const refused = sql`dataset_id = ${datasetId} and unrenderable is not null and ',' || unrenderable || ',' like ${`%,${contract},%`}`;
  const [{ n }] = await rows<{ n: number }>(ex, sql`select count(*)::int as n from records where ${refused}`);
  if (n === 0) return { count: 0, first: [] };
  const first = await rows<RecordRow>(ex, sql`select id::float8 as id, key, data from records where ${refused} order by id limit ${limit}`);
  return { count: n, first };
}

/** Why a dataset cannot be deleted now, and which run holds it. */
export type DatasetInUse = { reason: 'written' | 'pipeline' | 'pipeline_input' | 'export_input'; runId: string };

/**
 * Deletes a dataset no run may still write or read: not while the run that writes it is queued or
 * running, nor while its pipeline is (later stages read it), nor while a pipeline that takes it as
 * input is, nor while an export reads it (it would write a short file set and succeed). The
 * writing run's rows are locked before the dataset's, in id order, as a retry locks them: a delete
 * and a retry of that run cannot both succeed.
 */
export async function deleteDataset(db: Db, id: string, owner: string): Promise<'deleted' | 'missing' | DatasetInUse> {
  return db.transaction(async (tx) => {
    const [found] = await rows<{ run_id: string | null; parent_run_id: string | null }>(
      tx,
      sql`select d.run_id, r.parent_run_id from datasets d left join runs r on r.id = d.run_id where d.id = ${id} and d.owner = ${owner}`,
    );
    if (!found) return 'missing';
    const holders = [found.run_id, found.parent_run_id].filter((r): r is string => r !== null);
    const live = holders.length
      ? await rows<{ id: string; status: string }>(
          tx,
          sql`select id, status from runs where id in (${sql.join(holders.map((r) => sql`${r}`), sql`, `)}) order by id for share`,
        )
      : [];
    const [row] = await rows<{ id: string }>(tx, sql`select id from datasets where id = ${id} and owner = ${owner} for update`);
    if (!row) return 'missing';
    const busy = live.filter((r) => r.status === 'queued' || r.status === 'running');
    const writer = busy.find((r) => r.id === found.run_id);
    if (writer) return { reason: 'written', runId: writer.id };
    if (busy.length > 0) return { reason: 'pipeline', runId: busy[0].id };
    const [reader] = await rows<{ id: string }>(
      tx,
      sql`select id from runs where owner = ${owner} and kind = 'pipeline' and status in ('queued', 'running') and spec->>'dataset_id' = ${id} limit 1`,
    );
    if (reader) return { reason: 'pipeline_input', runId: reader.id };
    const [exporter] = await rows<{ id: string }>(
      tx,
      sql`select id from runs where owner = ${owner} and kind = 'export' and status in ('queued', 'running') and spec->'dataset_ids' @> jsonb_build_array(${id}::text) limit 1`,
    );
    if (exporter) return { reason: 'export_input', runId: exporter.id };
    await tx.delete(datasets).where(eq(datasets.id, id));
    return 'deleted';
  });
}

/** Curate outcomes by dataset, rating and rejection reason: what the curate report is built from. */
export async function curationCounts(ex: Executor, keptId: string, rejectedId: string) {
  return rows<{ kept: boolean; rating: number | null; reason: string | null; n: number }>(
    ex,
    sql`select dataset_id = ${keptId} as kept, (data->'curation'->>'rating')::int as rating, data->'rejection'->>'reason' as reason, count(*)::int as n
          from records where dataset_id in (${keptId}, ${rejectedId}) group by 1, 2, 3`,
  );
}

/** Records per dataset and per value of one top-level field (e.g. the flow of a rejected record). */
export async function countByDataset(ex: Executor, datasetIds: string[], field: string) {
  if (datasetIds.length === 0) return [];
  return rows<{ dataset_id: string; value: string | null; n: number }>(
    ex,
    sql`select dataset_id, data->>${field} as value, count(*)::int as n from records
         where dataset_id in (${sql.join(datasetIds.map((id) => sql`${id}`), sql`, `)}) group by 1, 2`,
  );
}

/** Rejected records by reason, with a few examples of why: for runs that drop what they generate. */
export async function rejectionSummary(ex: Executor, datasetId: string) {
  const byReason = await rows<{ reason: string | null; n: number }>(
    ex,
    sql`select data->'rejection'->>'reason' as reason, count(*)::int as n from records where dataset_id = ${datasetId} group by 1`,
  );
  const examples = await rows<{ key: string; question: string | null; detail: string | null }>(
    ex,
    sql`select key, data->>'question' as question, data->'rejection'->>'detail' as detail from records where dataset_id = ${datasetId} order by id limit 5`,
  );
  return { byReason, examples };
}

/** Whether the run that writes the dataset is still queued or running (it may add records). */
export async function datasetBeingWritten(ex: Executor, datasetId: string): Promise<boolean> {
  const [row] = await rows<{ live: boolean }>(
    ex,
    sql`select exists(select 1 from datasets d join runs r on r.id = d.run_id where d.id = ${datasetId} and r.status in ('queued', 'running')) as live`,
  );
  return row.live;
}
