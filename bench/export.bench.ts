// Export time to first byte: a dataset of N records (200,000 by default) on PGlite and, when a
// Postgres server is given, on Postgres; each format is exported three times over real HTTP, by a client in its own process, and the
// time to the response headers, to the first body byte and to the last byte is printed. Records are
// written with the formats that refuse them, so no export reads them before its first byte (the
// full render check, still used for datasets written before migration 0007, is timed below). Then the
// check itself is timed against the pre-check it replaced (a SQL scan for top-level keys, which
// could not see that a value has the wrong type), interleaved so both see the same machine load.
//
//   npx tsx bench/export.bench.ts [--records 200000] [--formats chatml,fairforge,jsonl]
//   (Postgres: BENCH_DATABASE_URL or TEST_DATABASE_URL, e.g. postgres://postgres@127.0.0.1:5432/test)
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { parseArgs, promisify } from 'node:util';
import { pino } from 'pino';
import postgres from 'postgres';
import { sql } from 'drizzle-orm';
import { createDataset } from '../db/datasets.repository.js';
import { openDatabase, rows, type Database } from '../db/client.js';
import { analyzeNow } from '../db/maintenance.js';
import { checkRecords } from '../services/export/render-check.js';
import { chatContract, refusedBy } from '../services/export/render-contract.js';
import { loadConfig } from '../src/config.js';
import { createQuarry } from '../src/quarry.js';

const { values: flags } = parseArgs({ options: { records: { type: 'string' }, formats: { type: 'string' } } });
const n = Number(flags.records ?? 200_000);
const ID = 'ds_0000000000000000000be7c0';

/** The pre-check export used before the render contract: records lacking every chat key set, by SQL. */
const KEY_SETS = [['messages'], ['question', 'answer'], ['instruction', 'output'], ['conversations']];
const oldPrecheck = (database: Database) =>
  rows(database.db, sql`select count(*)::int as n from records where dataset_id = ${ID} and not (${sql.join(
    KEY_SETS.map((keys) => sql`(${sql.join(keys.map((k) => sql`data::jsonb ? ${k}`), sql` and `)})`),
    sql` or `,
  )})`);
const run = promisify(execFile);
const timed = async (f: () => Promise<unknown>) => {
  const t = performance.now();
  await f();
  return Math.round(performance.now() - t);
};
const formats = (flags.formats ?? 'chatml,fairforge,jsonl').split(',');
const adminUrl = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL;

const record = (i: number) => ({
  question: `Question ${i}: how does the service keep record ${i} once when a worker dies mid-batch?`,
  answer: `Answer ${i}: the commit and the task's state change share one transaction, so a retried task inserts nothing twice. `.repeat(2),
  chunk_id: `chunk-${Math.floor(i / 3)}`,
  source: 'guide.md',
  model: 'bench',
});

/**
 * Times one export from a separate process, as a client on another machine sees it: a client in
 * this process would share the event loop with the server (and, on PGlite, with the database),
 * and read the headers only once the server paused between pages.
 */
const CLIENT = `
await (await fetch(new URL('/healthz', process.argv[1]))).text(); // the client's own first-fetch set-up is not the server's time
const started = performance.now();
const res = await fetch(process.argv[1]);
const headers = performance.now() - started;
const reader = res.body.getReader();
let first, bytes = 0;
for (;;) { const { done, value } = await reader.read(); if (done) break; first ??= performance.now() - started; bytes += value.byteLength; }
console.log(JSON.stringify({ status: res.status, headers_ms: Math.round(headers), first_byte_ms: Math.round(first ?? headers), total_ms: Math.round(performance.now() - started), mb: Math.round(bytes / 1e5) / 10 }));`;
async function measure(url: string) {
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', CLIENT, url], { maxBuffer: 1 << 20 });
  return JSON.parse(stdout) as { status: number; headers_ms: number; first_byte_ms: number; total_ms: number; mb: number };
}

async function bench(kind: 'pglite' | 'postgres') {
  let drop = async () => {};
  let databaseUrl: string | undefined;
  if (kind === 'postgres') {
    const name = `quarry_bench_${randomBytes(4).toString('hex')}`;
    const admin = postgres(adminUrl!, { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database ${name}`);
    await admin.end();
    const u = new URL(adminUrl!);
    u.pathname = `/${name}`;
    databaseUrl = u.toString();
    drop = async () => {
      const a = postgres(adminUrl!, { max: 1, onnotice: () => {} });
      await a.unsafe(`drop database if exists ${name} with (force)`);
      await a.end();
    };
  }
  const database: Database = await openDatabase({ databaseUrl, dataDir: 'memory://' });
  const config = loadConfig({ DATA_DIR: 'memory://', WORKER_CONCURRENCY: '0', LOG_LEVEL: 'silent', ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}) });
  const quarry = await createQuarry(config, { log: pino({ level: 'silent' }), database, worker: false });
  try {
    const loadStarted = performance.now();
    // As an import or a run writes them: each record with the formats that refuse it (none here).
    const items = Array.from({ length: n }, (_, i) => ({ key: `import#${i}`, data: record(i), unrenderable: refusedBy(record(i)) }));
    await createDataset(database.db, { id: ID, owner: '', name: 'bench' }, items);
    // As an import of this size does when it lands (createDatasetFrom).
    await analyzeNow(database.db, 'records');
    console.log(`${kind}: ${n} records written in ${Math.round(performance.now() - loadStarted)} ms`);
    await quarry.start();
    const base = await quarry.app!.listen({ port: 0, host: '127.0.0.1' });
    for (const format of formats) {
      for (let i = 0; i < 3; i++) console.log(JSON.stringify({ db: kind, format, records: n, try: i + 1, ...(await measure(`${base}/v1/datasets/${ID}/export?format=${format}`)) }));
    }
    for (let i = 0; i < 3; i++) {
      const before = await timed(() => oldPrecheck(database));
      const after = await timed(() => checkRecords(database, ID, chatContract));
      console.log(JSON.stringify({ db: kind, records: n, try: i + 1, old_key_precheck_ms: before, render_check_ms: after }));
    }
  } finally {
    await quarry.stop(0);
    await database.close();
    await drop();
  }
}

await bench('pglite');
if (adminUrl) await bench('postgres');
else console.log('postgres: skipped (set BENCH_DATABASE_URL or TEST_DATABASE_URL)');
