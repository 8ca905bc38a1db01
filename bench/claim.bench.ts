// Claim benchmark (issue 8, item 7): the cost of one claim of 64 tasks with 100,000 queued, on
// PGlite and on Postgres. Calls claimTasks directly, no worker and no HTTP; after each claim the
// claimed tasks are put back, so every claim sees the same queue.
//
//   npx tsx bench/claim.bench.ts [--claims 50] [--batch 64] [--only pglite|postgres]
//   (Postgres: BENCH_DATABASE_URL or TEST_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test)
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { openDatabase, rows, type Database } from '../db/client.js';
import { claimTasks } from '../db/queue.repository.js';

const { values: flags } = parseArgs({ options: { claims: { type: 'string' }, batch: { type: 'string' }, only: { type: 'string' } } });
const CLAIMS = Number(flags.claims ?? 50);
const BATCH = Number(flags.batch ?? 64);
const adminUrl = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

interface Layout {
  name: string;
  /** Per run: owner, tasks, concurrency cap. */
  runs: Array<{ owner: string; tasks: number; cap?: number }>;
}

const LAYOUTS: Layout[] = [
  {
    // One key's big run, a second key's two runs, a third key's ten small ones, a capped run.
    name: '100k queued, 4 owners, 14 runs',
    runs: [
      { owner: 'key-a', tasks: 60_000 },
      { owner: 'key-b', tasks: 10_000 },
      { owner: 'key-b', tasks: 10_000 },
      ...Array.from({ length: 10 }, () => ({ owner: 'key-c', tasks: 1_500 })),
      { owner: 'key-d', tasks: 5_000, cap: 8 },
    ],
  },
  {
    name: '100k queued, 20 owners, 200 runs',
    runs: Array.from({ length: 200 }, (_, i) => ({ owner: `key-${i % 20}`, tasks: 500, cap: i % 10 === 0 ? 4 : undefined })),
  },
];

async function seed(database: Database, layout: Layout): Promise<void> {
  const { db } = database;
  await db.execute(sql`truncate runs, tasks cascade`);
  for (const [i, run] of layout.runs.entries()) {
    const id = `run_bench_${String(i).padStart(4, '0')}`;
    await db.execute(sql`insert into runs (id, owner, kind, status, spec, total, max_concurrency, created_at)
      values (${id}, ${run.owner}, 'bench', 'running', '{}'::jsonb, ${run.tasks}, ${run.cap ?? null}, now() + make_interval(secs => ${i}))`);
    await db.execute(sql`insert into tasks (run_id, key, kind, payload)
      select ${id}, 't' || g, 'bench', '{}'::jsonb from generate_series(1, ${run.tasks}) g order by g`);
  }
  // Postgres' autovacuum would have analysed a table this size by now; PGlite never does.
  if (database.kind === 'postgres') await db.execute(sql`analyze runs; analyze tasks`);
}

async function measure(database: Database): Promise<{ ms: number[]; claimed: number[]; owners: Record<string, number> }> {
  const { db } = database;
  const ms: number[] = [];
  const claimed: number[] = [];
  let owners: Record<string, number> = {};
  for (let i = -5; i < CLAIMS; i++) {
    const t0 = performance.now();
    const got = await claimTasks(db, 'bench', BATCH, 30);
    const t1 = performance.now();
    if (i >= 0) {
      ms.push(t1 - t0);
      claimed.push(got.length);
    }
    if (i === 0) {
      const byRun = await rows<{ owner: string; n: number }>(db, sql`select r.owner, count(*)::int as n from tasks t join runs r on r.id = t.run_id where t.status = 'running' group by r.owner order by r.owner`);
      owners = Object.fromEntries(byRun.map((r) => [r.owner, r.n]));
    }
    await db.execute(sql`update tasks set status = 'queued', worker_id = null, lease_until = null, attempts = 0 where status = 'running'`);
  }
  return { ms, claimed, owners };
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.max(0, Math.ceil((p / 100) * xs.length) - 1)];
const fmt = (n: number) => n.toFixed(2);

async function bench(kind: 'pglite' | 'postgres') {
  let drop = async () => {};
  let database: Database;
  if (kind === 'postgres') {
    const name = `quarry_bench_${randomBytes(4).toString('hex')}`;
    const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database ${name}`);
    await admin.end();
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    database = await openDatabase({ databaseUrl: url.toString(), poolSize: 2 });
    drop = async () => {
      const a = postgres(adminUrl, { max: 1, onnotice: () => {} });
      await a.unsafe(`drop database if exists ${name} with (force)`);
      await a.end();
    };
  } else {
    database = await openDatabase({ dataDir: 'memory://' });
  }
  try {
    for (const layout of LAYOUTS) {
      await seed(database, layout);
      const { ms, claimed, owners } = await measure(database);
      const got = claimed.reduce((a, b) => a + b, 0) / claimed.length;
      console.log(`${kind.padEnd(8)} ${layout.name.padEnd(34)} claim of ${BATCH}: p50 ${fmt(pct(ms, 50))} ms, p90 ${fmt(pct(ms, 90))} ms, max ${fmt(pct(ms, 100))} ms, ${got} claimed on average`);
      console.log(`         first claim by owner: ${JSON.stringify(owners)}`);
    }
  } finally {
    await database.close();
    await drop();
  }
}

for (const kind of ['pglite', 'postgres'] as const) {
  if (flags.only && flags.only !== kind) continue;
  await bench(kind);
}
