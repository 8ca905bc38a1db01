import { and, asc, eq, sql } from 'drizzle-orm';
import { rows, type Executor } from './client.js';
import { exportFiles } from './schema/index.js';

/** A file an export run wrote, without its bytes. */
export interface ExportFileInfo {
  path: string;
  split: string | null;
  rows: number;
  bytes: number;
  sha256: string;
}

/** Bytes read per query when a file is served: memory stays flat however large the file. */
export const FILE_READ_CHUNK = 1024 ** 2;

const info = { path: exportFiles.path, split: exportFiles.split, rows: exportFiles.rows, bytes: exportFiles.bytes, sha256: exportFiles.sha256 };

/** A retried export task writes its files again: what an earlier attempt left is dropped first. */
export async function clearExportFiles(ex: Executor, runId: string): Promise<void> {
  await ex.delete(exportFiles).where(eq(exportFiles.runId, runId));
}

export async function insertExportFile(ex: Executor, file: ExportFileInfo & { runId: string; owner: string; content: Uint8Array }): Promise<void> {
  await ex.insert(exportFiles).values(file);
}

/** The files of an export run, by path; another owner's run has none. */
export async function listExportFiles(ex: Executor, runId: string, owner: string): Promise<ExportFileInfo[]> {
  return ex.select(info).from(exportFiles).where(and(eq(exportFiles.runId, runId), eq(exportFiles.owner, owner))).orderBy(asc(exportFiles.path));
}

/** Bytes [offset, offset + length) of one file (base64 in transit: PGlite decodes bytea results slowly). */
export async function readExportFileChunk(ex: Executor, runId: string, path: string, offset: number, length: number): Promise<Buffer> {
  const [row] = await rows<{ b64: string }>(
    ex,
    sql`select encode(substring(content from ${offset + 1} for ${length}), 'base64') as b64 from export_files where run_id = ${runId} and path = ${path}`,
  );
  return Buffer.from(row?.b64 ?? '', 'base64');
}

/** Gives a shard its final name once the number of shards of its split is known. */
export async function renameExportFile(ex: Executor, runId: string, from: string, to: string): Promise<void> {
  await ex.update(exportFiles).set({ path: to }).where(and(eq(exportFiles.runId, runId), eq(exportFiles.path, from)));
}
