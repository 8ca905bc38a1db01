import type { Database } from '../../db/client.js';
import { createDataset, deleteDataset, findDataset, listDatasets, recordsPage, type DatasetRow } from '../../db/datasets.repository.js';
import { AppError, notFound } from '../../src/errors.js';
import { newId } from '../../src/ids.js';
import { pacer } from '../../src/pacer.js';
import { assertAcceptable } from '../../src/safe-input.js';

type Deps = { database: Database };

export function datasetView(row: DatasetRow) {
  const self = `/v1/datasets/${row.id}`;
  return {
    id: row.id,
    name: row.name,
    record_count: row.recordCount,
    run_id: row.runId ?? undefined,
    meta: row.meta,
    created_at: row.createdAt.toISOString(),
    links: { self, records: `${self}/records`, export: `${self}/export?format=chatml` },
  };
}

export const MAX_IMPORT_RECORDS = 200_000;

/**
 * Parses an import body: a JSON array, `{ name, records }`, or JSONL text. Every record must be an
 * object. Paced: a 200,000-line body is parsed in slices, never holding the event loop for long.
 */
export async function parseImport(body: unknown, contentType: string): Promise<{ name?: string; records: Record<string, unknown>[] }> {
  let name: string | undefined;
  let items: unknown[];
  const pace = pacer();
  if (typeof body === 'string' || Buffer.isBuffer(body)) {
    items = [];
    // A byte-order mark is accepted here as the JSON parser accepts it for application/json.
    const lines = String(body).replace(/^\uFEFF/, '').split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i];
      if (line.trim() === '') continue;
      if (items.length >= MAX_IMPORT_RECORDS) throw tooMany();
      let item: unknown;
      try {
        item = JSON.parse(line);
      } catch (err) {
        throw new AppError('validation_failed', `line ${i + 1} is not valid JSON`, [{ field: `line.${i + 1}`, message: (err as Error).message }]);
      }
      // Never store what cannot be read back: NUL, unpaired surrogates, prototype keys, deep nesting.
      assertAcceptable(item, `line.${i + 1}`);
      items.push(item);
      await pace();
    }
  } else if (Array.isArray(body)) {
    items = body;
  } else if (body && typeof body === 'object' && Array.isArray((body as { records?: unknown }).records)) {
    items = (body as { records: unknown[] }).records;
    name = (body as { name?: string }).name;
  } else {
    throw new AppError('validation_failed', 'send a JSON array of records, { "name", "records": [...] }, or JSONL', [{ field: 'records', message: `unexpected ${contentType} body` }]);
  }
  if (items.length === 0) throw new AppError('validation_failed', 'no records to import', [{ field: 'records', message: 'is empty' }]);
  if (items.length > MAX_IMPORT_RECORDS) throw tooMany();
  const bad = items.findIndex((r) => !r || typeof r !== 'object' || Array.isArray(r));
  if (bad >= 0) throw new AppError('validation_failed', `record ${bad} is not a JSON object`, [{ field: `records.${bad}`, message: 'must be an object' }]);
  return { name, records: items as Record<string, unknown>[] };
}

const tooMany = () => new AppError('validation_failed', `at most ${MAX_IMPORT_RECORDS} records per import`, [{ field: 'records', message: 'too many' }]);

export async function importDataset(deps: Deps, owner: string, input: { name?: string; records: Record<string, unknown>[] }) {
  const id = newId('ds');
  const row = await createDataset(
    deps.database.db,
    { id, owner, name: input.name ?? `import ${new Date().toISOString()}`, meta: { kind: 'import' } },
    input.records.map((data, i) => ({ key: `import#${i}`, data })),
  );
  return datasetView(row);
}

export async function getDataset(deps: Deps, owner: string, id: string) {
  const row = await findDataset(deps.database.db, id, owner);
  if (!row) throw notFound('dataset', id);
  return datasetView(row);
}

export async function listDatasetViews(deps: Deps, owner: string, query: { limit?: number; before?: string }) {
  const limit = query.limit ?? 50;
  const rows = await listDatasets(deps.database.db, owner, { limit: limit + 1, before: query.before });
  const page = rows.slice(0, limit);
  return { datasets: page.map(datasetView), next_before: rows.length > limit ? page[page.length - 1].id : null };
}

export async function listRecords(deps: Deps, owner: string, id: string, query: { limit?: number; cursor?: string }) {
  await getDataset(deps, owner, id);
  const limit = query.limit ?? 100;
  const after = query.cursor ? Number.parseInt(query.cursor, 10) : 0;
  const rows = await recordsPage(deps.database.db, id, after, limit + 1);
  const page = rows.slice(0, limit);
  return {
    records: page.map((r) => ({ key: r.key, data: r.data })),
    next_cursor: rows.length > limit ? String(page[page.length - 1].id) : null,
  };
}

export async function removeDataset(deps: Deps, owner: string, id: string): Promise<void> {
  const result = await deleteDataset(deps.database.db, id, owner);
  if (result === 'missing') throw notFound('dataset', id);
  if (result === 'deleted') return;
  const why = {
    written: `run ${result.runId} is still writing it`,
    pipeline: `pipeline ${result.runId} is still running and its later stages read it`,
    pipeline_input: `pipeline ${result.runId} is still running and reads it as its input`,
  }[result.reason];
  throw new AppError('conflict', `dataset ${id} cannot be deleted: ${why}; cancel run ${result.runId} first`, [{ field: 'id', message: why, run_id: result.runId }]);
}
