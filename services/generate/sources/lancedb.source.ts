import { lstat, readdir, realpath } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { AppError } from '../../../src/errors.js';
import { toStorable } from '../../../src/safe-input.js';
import type { PlannedChunk } from './planned-chunk.js';

export interface LanceSource {
  uri: string;
  tables: string[];
  max_chunks?: number;
  where?: string;
}

/** Phagocyte's chunk columns we use; anything else (vectors, hashes, offsets) is ignored. */
const COLUMNS = ['id', 'content', 'source_file', 'title', 'section_path', 'language', 'symbol_name'];

/** Real paths of the roots: a root may itself be reached through a link. */
const realRoots = (roots: string[]) => Promise.all(roots.map((root) => realpath(root).catch(() => resolve(root))));

const inside = (real: string, roots: string[]) =>
  roots.some((root) => {
    const rel = relative(root, real);
    return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
  });

/** The database path must resolve (symlinks included) inside one of LANCEDB_ROOTS. */
async function allowedPath(uri: string, roots: string[]): Promise<string> {
  if (roots.length === 0) throw invalid('lancedb.uri', 'reading LanceDB is disabled: set LANCEDB_ROOTS to the directories Quarry may read');
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(uri)) throw invalid('lancedb.uri', 'must be a local directory path under LANCEDB_ROOTS');
  let real: string;
  try {
    real = await realpath(resolve(uri));
  } catch {
    throw invalid('lancedb.uri', `${uri} does not exist`);
  }
  if (inside(real, await realRoots(roots))) return real;
  throw invalid('lancedb.uri', `${uri} is not under an allowed root (LANCEDB_ROOTS)`);
}

/** Deepest directory level of a table walked for links (Lance tables nest data, _versions, _indices, _transactions). */
const MAX_TABLE_DEPTH = 8;

/** Links anywhere inside a directory tree: what LanceDB would follow when it reads the tree. */
async function* linksUnder(dir: string, depth = 0): AsyncGenerator<string> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isSymbolicLink()) yield path;
    else if (entry.isDirectory() && depth < MAX_TABLE_DEPTH) yield* linksUnder(path, depth + 1);
  }
}

/** A directory LanceDB reads, and every link inside it, must resolve under a root (fail closed: what cannot be resolved is not read). */
async function assertTreeInside(dir: string, roots: string[], refuse: () => AppError) {
  const resolved = async (path: string) => realpath(path).catch(() => undefined);
  const real = await resolved(dir);
  if (real === undefined || !inside(real, roots)) throw refuse();
  for await (const link of linksUnder(real)) {
    const target = await resolved(link);
    if (target === undefined || !inside(target, roots)) throw refuse();
  }
}

/**
 * Everything a LanceDB source opens resolves under LANCEDB_ROOTS: the database's namespace manifest
 * (read on connect) and each requested table — a `<name>.lance` directory whose data files,
 * versions and indices LanceDB would follow wherever links in it lead. Otherwise a link planted in
 * an allowed database (`allowed/db/text_chunks.lance → /secret/...`) would read a table from anywhere.
 */
async function assertManifestInside(dbPath: string, roots: string[]) {
  const manifest = join(dbPath, '__manifest');
  if (!(await lstat(manifest).then(() => true, () => false))) return;
  await assertTreeInside(manifest, roots, () => invalid('lancedb.uri', 'the database\'s __manifest is (or contains) a link that leads outside LANCEDB_ROOTS'));
}

async function assertTablesInside(dbPath: string, tables: string[], roots: string[]) {
  for (const [i, name] of tables.entries()) {
    await assertTreeInside(join(dbPath, `${name}.lance`), roots, () => invalid(`lancedb.tables.${i}`, `table "${name}" is (or contains) a link that leads outside LANCEDB_ROOTS`));
  }
}

const invalid = (field: string, message: string) => new AppError('validation_failed', `${field}: ${message}`, [{ field, message }]);

/**
 * Reads chunk rows from one or more LanceDB tables into one list. A table is code when its name
 * says so or it has a `language` column; its chunks then get the code prompt.
 */
export async function loadLanceChunks(source: LanceSource, roots: string[], limit: number): Promise<PlannedChunk[]> {
  const path = await allowedPath(source.uri, roots);
  const real = await realRoots(roots);
  await assertManifestInside(path, real);
  // Loaded on the first LanceDB source, not at startup: with apache-arrow it adds ~15 MiB of RSS.
  const lancedb = await import('@lancedb/lancedb');
  const db = await lancedb.connect(path);
  const existing = new Set(await db.tableNames());
  source.tables.forEach((name, i) => {
    if (!existing.has(name)) throw invalid(`lancedb.tables.${i}`, `no table "${name}" in ${source.uri} (tables: ${[...existing].join(', ') || 'none'})`);
  });
  await assertTablesInside(path, source.tables, real);
  const chunks: PlannedChunk[] = [];
  const seen = new Set<string>();
  for (const [i, name] of source.tables.entries()) {
    if (chunks.length >= limit) break;
    const table = await db.openTable(name);
    const columns = (await table.schema()).fields.map((f) => f.name);
    if (!columns.includes('content')) throw invalid(`lancedb.tables.${i}`, `table "${name}" has no content column (columns: ${columns.join(', ')})`);
    const isCode = /code/i.test(name) || columns.includes('language');
    let query = table.query().select(COLUMNS.filter((c) => columns.includes(c))).limit(limit - chunks.length);
    if (source.where) query = query.where(source.where);
    let rows: Array<Record<string, unknown>>;
    try {
      rows = await query.toArray();
    } catch (err) {
      throw invalid('lancedb.where', `LanceDB rejected the filter on table "${name}": ${(err as Error).message.split('\n')[0]}`);
    }
    // Rows are someone else's data: a NUL or lone surrogate in them is mended, not stored as is.
    rows = rows.map((row) => toStorable(row));
    rows.forEach((row, n) => {
      const content = String(row.content ?? '').trim();
      if (!content) return;
      const id = row.id != null ? String(row.id) : `${name}_${n}`;
      let key = `${name}/${id}`;
      for (let k = 2; seen.has(key); k++) key = `${name}/${id}~${k}`;
      seen.add(key);
      const sectionPath = typeof row.section_path === 'string' && row.section_path ? row.section_path.split(/\s*>\s*/) : typeof row.title === 'string' && row.title ? [row.title] : [];
      chunks.push({
        key,
        chunk: {
          chunk_id: id,
          content,
          source: typeof row.source_file === 'string' && row.source_file ? row.source_file : name,
          section_path: isCode && typeof row.symbol_name === 'string' && row.symbol_name ? [row.symbol_name] : sectionPath,
          ...(isCode ? { code: { language: typeof row.language === 'string' ? row.language : undefined, symbol: typeof row.symbol_name === 'string' ? row.symbol_name : undefined } } : {}),
        },
      });
    });
  }
  return chunks;
}
