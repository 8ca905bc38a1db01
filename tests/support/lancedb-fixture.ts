import * as lancedb from '@lancedb/lancedb';

const vector = (dims: number, seed: number) => Array.from({ length: dims }, (_, i) => Math.sin(seed * 31 + i));

/** Tables with Phagocyte's columns (processor/database/schemas.py): text_chunks and code_chunks. */
export async function writePhagocyteTables(uri: string) {
  const db = await lancedb.connect(uri);
  const text = [
    ['t1', 'docs/install.md', 'Install', 'Install > Linux', 'Run `apt install quarry` on Debian. The service listens on port 3000 by default.'],
    ['t2', 'docs/install.md', 'Install', 'Install > macOS', 'Use `brew install quarry` on macOS. Homebrew puts the binary on the PATH.'],
    ['t3', 'docs/config.md', 'Config', 'Config > Database', 'Set DATABASE_URL to use Postgres; without it the embedded PGlite keeps data in ./data.'],
  ].map(([id, source_file, title, section_path, content], i) => ({
    id, content, content_hash: `h${i}`, vector: vector(32, i), source_file, source_type: 'markdown',
    start_line: i * 10, end_line: i * 10 + 9, start_char: i * 400, end_char: i * 400 + 399, parent_id: '',
    title, section_path, citations: '[]', token_count: 30,
  }));
  const code = [
    ['c1', 'src/queue.py', 'claim_tasks', 'def claim_tasks(conn, limit):\n    """Claim up to limit queued tasks with FOR UPDATE SKIP LOCKED."""\n    return conn.execute(CLAIM_SQL, (limit,)).fetchall()'],
    ['c2', 'src/queue.py', 'release', 'def release(conn, worker):\n    """Return a stopping worker\'s tasks to the queue."""\n    conn.execute(RELEASE_SQL, (worker,))'],
  ].map(([id, source_file, symbol_name, content], i) => ({
    id, content, content_hash: `c${i}`, vector: vector(16, 100 + i), source_file, source_type: 'code',
    start_line: i * 5, end_line: i * 5 + 4, start_char: 0, end_char: 120, parent_id: '',
    token_count: 40, language: 'python', symbol_name, symbol_type: 'function', imports: '[]',
  }));
  await db.createTable('text_chunks', text, { mode: 'overwrite' });
  await db.createTable('code_chunks', code, { mode: 'overwrite' });
  await db.createTable('no_content', [{ id: 'x', body: 'not called content', source_file: 'x.md' }], { mode: 'overwrite' });
  return { text, code };
}
