import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { PGlite } from '@electric-sql/pglite';
import { preparing } from './prepared.js';
import type { SQL } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT, PgTransaction } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import * as schema from './schema/index.js';

export type Schema = typeof schema;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Db = PgDatabase<PgQueryResultHKT, Schema, any>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Tx = PgTransaction<PgQueryResultHKT, Schema, any>;
/** Repositories accept either the database or an open transaction. */
export type Executor = Db | Tx;

export interface Database {
  kind: 'postgres' | 'pglite';
  db: Db;
  listen(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

const migrationsFolder = join(dirname(fileURLToPath(import.meta.url)), 'migrations');

/** postgres.js returns rows as an array, PGlite as `{ rows }`; repositories only see arrays. */
export async function rows<T>(ex: Executor, query: SQL): Promise<T[]> {
  const result = (await ex.execute(query)) as unknown;
  return (Array.isArray(result) ? result : (result as { rows: T[] }).rows) as T[];
}

export interface DatabaseOptions {
  databaseUrl?: string;
  /** PGlite directory; `memory://` keeps it in memory (tests). */
  dataDir?: string;
  poolSize?: number;
  migrate?: boolean;
}

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  const database = options.databaseUrl ? openPostgres(options.databaseUrl, options.poolSize ?? 20) : await openPglite(options.dataDir ?? './data');
  if (options.migrate !== false) await database.migrate();
  return database;
}

function openPostgres(url: string, max: number): Database & { migrate(): Promise<void> } {
  const client = postgres(url, { max, onnotice: () => {}, connection: { application_name: 'quarry' } });
  const db = drizzlePostgres(preparing(client), { schema }) as unknown as Db;
  return {
    kind: 'postgres',
    db,
    async listen(channel, onPayload) {
      const sub = await client.listen(channel, onPayload);
      return () => sub.unlisten();
    },
    async ping() {
      await client`select 1`;
    },
    async close() {
      await client.end({ timeout: 5 });
    },
    async migrate() {
      // One connection, so the session advisory lock and the migration share it: a second
      // process migrating at the same moment waits on the lock instead of racing.
      const single = postgres(url, { max: 1, onnotice: () => {} });
      try {
        await single`select pg_advisory_lock(7263541)`;
        await migratePostgres(drizzlePostgres(single, { schema }), { migrationsFolder });
      } finally {
        await single.end({ timeout: 5 });
      }
    },
  };
}

/**
 * PGlite's Postgres lives in a WASM heap that never shrinks, and it touches all of shared_buffers
 * when it starts: initdb's 128MB was ~150 MiB of the service's idle RSS. One embedded database for
 * one process does well with 16MB; the OS page cache still holds the table files.
 */
const PGLITE_START_PARAMS = [...PGlite.defaultStartParams, '-c', 'shared_buffers=16MB'];

const requireHere = createRequire(import.meta.url);
let liftoffModule: WebAssembly.Module | undefined;

/**
 * PGlite's 9 MB of WASM, compiled once per process with V8's baseline compiler (Liftoff) only.
 * By default V8 also recompiles every hot function with TurboFan: ~35 MiB more code at idle and
 * ~65 MiB after some queries, for no gain here (PGlite's time goes to its JS glue and file calls:
 * 20,000 inserts and 2,000 aggregates ran as fast on Liftoff alone). V8 reads the flag when it
 * compiles a module, so it is set back at once and other WASM (undici's HTTP parser) keeps both tiers.
 */
function pgliteWasmModule(): WebAssembly.Module {
  if (liftoffModule) return liftoffModule;
  const bytes = readFileSync(requireHere.resolve('@electric-sql/pglite/pglite.wasm'));
  setFlagsFromString('--liftoff-only');
  try {
    liftoffModule = new WebAssembly.Module(bytes);
  } finally {
    setFlagsFromString('--no-liftoff-only');
  }
  return liftoffModule;
}

/**
 * initdb runs in a second PGlite instance and copies its result as a tarball; after it closes the
 * freed WASM heaps and buffers stay with the process's allocator (~450 MiB of RSS for good). A
 * throwaway child process creates the directory instead, so a first start idles like any other.
 */
async function initPgliteDir(dataDir: string): Promise<void> {
  if (existsSync(join(dataDir, 'PG_VERSION'))) return;
  const pglite = JSON.stringify(requireHere.resolve('@electric-sql/pglite'));
  const script = `require(${pglite}).PGlite.create(${JSON.stringify(dataDir)}, { startParams: ${JSON.stringify(PGLITE_START_PARAMS)} }).then((pg) => pg.close())`;
  try {
    await promisify(execFile)(process.execPath, ['-e', script]);
  } catch (err) {
    throw new Error(`PGlite: could not initialise ${dataDir}: ${(err as { stderr?: string }).stderr?.trim() || err}`, { cause: err });
  }
}

async function openPglite(dataDir: string): Promise<Database & { migrate(): Promise<void> }> {
  const inMemory = dataDir.startsWith('memory://');
  if (!inMemory) {
    mkdirSync(resolve(dataDir), { recursive: true });
    await initPgliteDir(resolve(dataDir));
  }
  const client = new PGlite({ dataDir: inMemory ? undefined : resolve(dataDir), startParams: PGLITE_START_PARAMS, pgliteWasmModule: pgliteWasmModule() });
  await client.waitReady;
  const db = drizzlePglite(client, { schema }) as unknown as Db;
  return {
    kind: 'pglite',
    db,
    async listen(channel, onPayload) {
      const unsub = await client.listen(channel, onPayload);
      return () => unsub();
    },
    async ping() {
      await client.query('select 1');
    },
    async close() {
      await client.close();
    },
    async migrate() {
      await migratePglite(drizzlePglite(client, { schema }), { migrationsFolder });
    },
  };
}
