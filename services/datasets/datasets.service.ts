import type { Database } from '../../db/client.js';
import { IMPORT_BATCH, createDatasetFrom, deleteDataset, findDataset, listDatasets, recordsPage, type DatasetRow } from '../../db/datasets.repository.js';
import { AppError, notFound } from '../../src/errors.js';
import { newId } from '../../src/ids.js';
import { DEFAULT_IMPORT_LIMITS, bodyTooLarge, type ImportLimits } from './import-batches.js';
import { ImportBody, readAhead, type ImportFormat } from './import-body.js';

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

export interface ImportInput {
  /** `?name=`: wins over a name in the body. */
  name?: string;
  format: ImportFormat;
  /** The request body as it arrives. */
  body: AsyncIterable<Buffer | string>;
  /** Content-Length, when the client sent one: over the bound, refused before a byte is read. */
  declaredBytes?: number;
}

/**
 * Imports a body as it streams in (see ImportBody): records are checked as they complete and written
 * in batches inside one transaction, so a refused record or a dropped connection leaves nothing.
 */
export async function importDataset(deps: Deps & { importLimits?: ImportLimits }, owner: string, input: ImportInput) {
  const limits = deps.importLimits ?? DEFAULT_IMPORT_LIMITS;
  if (input.declaredBytes !== undefined && input.declaredBytes > limits.maxBytes) throw bodyTooLarge(limits.maxBytes);
  const batch = IMPORT_BATCH[deps.database.kind];
  const body = new ImportBody(input.format, limits, batch);
  const fallback = `import ${new Date().toISOString()}`;
  const row = await createDatasetFrom(
    deps.database.db,
    { id: newId('ds'), owner, keyPrefix: 'import#', meta: { kind: 'import' } },
    readAhead(body.read(input.body)),
    () => input.name ?? body.name ?? fallback,
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
    export_input: `export ${result.runId} is still running and reads it`,
  }[result.reason];
  throw new AppError('conflict', `dataset ${id} cannot be deleted: ${why}; cancel run ${result.runId} first`, [{ field: 'id', message: why, run_id: result.runId }]);
}
