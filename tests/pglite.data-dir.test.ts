import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase, rows } from '../db/client.js';

/** `npm start` without DATABASE_URL: PGlite on a directory, created by a child process on the first start. */
describe('PGlite on a data directory', () => {
  const root = mkdtempSync(join(tmpdir(), 'quarry-pglite-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const migrations = async (sut: Awaited<ReturnType<typeof openDatabase>>) =>
    (await rows<{ n: number }>(sut.db, sql`select count(*)::int as n from drizzle.__drizzle_migrations`))[0].n;

  it('initialises a missing directory, migrates it, and finds what it wrote after a restart', async () => {
    const dataDir = join(root, 'data');
    const first = await openDatabase({ dataDir });
    let applied: number;
    try {
      expect(existsSync(join(dataDir, 'PG_VERSION'))).toBe(true);
      applied = await migrations(first);
      expect(applied).toBeGreaterThan(0);
      await first.db.execute(sql`create table probe (v text)`);
      await first.db.execute(sql`insert into probe values ('kept')`);
    } finally {
      await first.close();
    }

    const second = await openDatabase({ dataDir });
    try {
      expect(await rows<{ v: string }>(second.db, sql`select v from probe`)).toEqual([{ v: 'kept' }]);
      // The second start found the migrations applied and added none.
      expect(await migrations(second)).toBe(applied);
      // The start parameters hold on a directory whose postgresql.conf (from initdb) says 128MB.
      expect(await rows(second.db, sql`show shared_buffers`)).toEqual([{ shared_buffers: '16MB' }]);
    } finally {
      await second.close();
    }
  });

  it('runs in memory with the same settings', async () => {
    const sut = await openDatabase({ dataDir: 'memory://' });
    try {
      expect(await rows(sut.db, sql`show shared_buffers`)).toEqual([{ shared_buffers: '16MB' }]);
      expect(await migrations(sut)).toBeGreaterThan(0);
    } finally {
      await sut.close();
    }
  });
});
