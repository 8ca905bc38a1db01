import { randomBytes } from 'node:crypto';
import postgres from 'postgres';

/** Postgres suites run only where a server is given, as .ci/run does; PGlite suites run everywhere. */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL;
/**
 * `TEST_DATABASES=postgres` narrows a run to the Postgres cases: .ci/run's second pass, after a
 * first pass on PGlite alone, so the PGlite cases do not run twice.
 */
const only = process.env.TEST_DATABASES?.split(',').map((d) => d.trim());
export const DATABASES: Array<'pglite' | 'postgres'> = (TEST_DATABASE_URL ? (['pglite', 'postgres'] as const) : (['pglite'] as const)).filter((d) => !only || only.includes(d));

/** A throwaway database per suite, so suites never see each other's runs or tasks. */
export async function createPostgresDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  if (!TEST_DATABASE_URL) throw new Error('TEST_DATABASE_URL is not set');
  const name = `quarry_test_${randomBytes(5).toString('hex')}`;
  const admin = postgres(TEST_DATABASE_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const sql = postgres(TEST_DATABASE_URL!, { max: 1, onnotice: () => {} });
      await sql.unsafe(`drop database if exists ${name} with (force)`);
      await sql.end();
    },
  };
}
