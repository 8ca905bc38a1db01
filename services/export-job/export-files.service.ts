import { Readable } from 'node:stream';
import type { Database } from '../../db/client.js';
import { FILE_READ_CHUNK, listExportFiles, readExportFileChunk, type ExportFileInfo } from '../../db/export-files.repository.js';
import { findRun } from '../../db/runs.repository.js';
import { AppError, notFound } from '../../src/errors.js';
import { runView } from '../runs/run-view.js';
import { TAR_END, tarHeader, tarPadding } from './tar.js';

type Deps = { database: Database };

/** The caller's export run; another key's, or a run of another kind, is not found. */
async function exportRun(deps: Deps, owner: string, id: string) {
  const run = await findRun(deps.database.db, id, owner);
  if (!run || run.kind !== 'export') throw notFound('export', id);
  return run;
}

type ExportRun = NonNullable<Awaited<ReturnType<typeof findRun>>>;

/** A succeeded export always wrote its card: one with no files left had them removed by retention (db/eviction.ts). */
const expired = (id: string) =>
  new AppError('gone', `export ${id} expired: its files were removed by retention (EXPORT_TTL_DAYS, EXPORT_MAX_MB); run the export again`, [
    { field: 'id', message: 'the export succeeded but its files have expired' },
  ]);

/**
 * The files of a run that did not succeed are never served: a canceled or failed export's are an
 * incomplete set (the next eviction pass deletes them), a queued or running one's are not done.
 */
function notComplete(run: ExportRun): AppError {
  const why = run.status === 'queued' || run.status === 'running' ? 'its files are not all written yet' : 'it wrote no complete set of files';
  return new AppError('conflict', `export ${run.id} is ${run.status}: ${why}`, [{ field: 'id', message: `the export run is ${run.status}`, status: run.status }]);
}

/**
 * The export run and its files: those written so far while it runs, none once it was canceled or
 * failed (they are discarded), all of them once it succeeded; a 410 once they expired.
 */
export async function getExport(deps: Deps, owner: string, id: string) {
  const run = await exportRun(deps, owner, id);
  if (run.status === 'canceled' || run.status === 'failed') return { run: runView(run), files: [] };
  const files = await listExportFiles(deps.database.db, id, owner);
  if (run.status === 'succeeded' && files.length === 0) throw expired(id);
  return { run: runView(run), files };
}

/** The files of a succeeded export, for download. */
async function completeFiles(deps: Deps, owner: string, id: string) {
  const run = await exportRun(deps, owner, id);
  if (run.status !== 'succeeded') throw notComplete(run);
  const files = await listExportFiles(deps.database.db, id, owner);
  if (files.length === 0) throw expired(id);
  return { run, files };
}

/**
 * One file's bytes, a chunk per query. A file evicted while it is read ends the stream with an
 * error (the connection is cut), never with a clean but short body.
 */
async function* bytesOf(deps: Deps, runId: string, file: ExportFileInfo) {
  for (let offset = 0; offset < file.bytes; offset += FILE_READ_CHUNK) {
    const chunk = await readExportFileChunk(deps.database.db, runId, file.path, offset, FILE_READ_CHUNK);
    if (chunk.length === 0) throw new Error(`export ${runId}: ${file.path} was removed while it was read`);
    yield chunk;
  }
}

/** One file, streamed. */
export async function exportFile(deps: Deps, owner: string, id: string, path: string) {
  const file = (await completeFiles(deps, owner, id)).files.find((f) => f.path === path);
  if (!file) throw notFound('file', path);
  const type = path.endsWith('.parquet') ? 'application/vnd.apache.parquet' : path.endsWith('.md') ? 'text/markdown; charset=utf-8' : 'application/x-ndjson; charset=utf-8';
  return { file, contentType: type, stream: Readable.from(bytesOf(deps, id, file)) };
}

/** Every file as one tar, streamed a chunk at a time (a folder `huggingface-cli upload` takes once unpacked). */
export async function exportArchive(deps: Deps, owner: string, id: string) {
  const { run, files } = await completeFiles(deps, owner, id);
  const mtime = run.finishedAt ?? run.createdAt;
  async function* tar() {
    for (const file of files) {
      yield tarHeader(file.path, file.bytes, mtime);
      yield* bytesOf(deps, id, file);
      yield tarPadding(file.bytes);
    }
    yield TAR_END;
  }
  return { filename: `${id}.tar`, stream: Readable.from(tar()) };
}
