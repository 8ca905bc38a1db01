import { sql } from 'drizzle-orm';
import { pino, type Logger } from 'pino';
import { rows } from '../../db/client.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createQuarry, type Quarry } from '../../src/quarry.js';
import { startFakeLlm, type FakeLlm, type FakeLlmOptions } from '../../src/fake-llm/server.js';
import { createPostgresDatabase } from './databases.js';

export interface Harness {
  quarry: Quarry;
  config: Config;
  fake: FakeLlm;
  /** Base URL of the listening service (real sockets, for SSE/WebSocket clients and supertest). */
  url: string;
  databaseUrl?: string;
  close(): Promise<void>;
}

export interface HarnessOptions {
  db: 'pglite' | 'postgres';
  env?: Record<string, string>;
  fake?: FakeLlmOptions;
  /** Reuse a fake teacher (e.g. one shared with other processes). */
  fakeLlm?: FakeLlm;
  /** The service's logger (e.g. one writing to a captured stream); default: pino at TEST_LOG_LEVEL. */
  log?: Logger;
}

/**
 * The real service on a fresh database, with the `openai` provider (the default) and the
 * `anthropic` provider both pointed at the fake teacher over loopback.
 */
export async function startHarness(options: HarnessOptions): Promise<Harness> {
  const fake = options.fakeLlm ?? (await startFakeLlm(options.fake));
  const pg = options.db === 'postgres' ? await createPostgresDatabase() : undefined;
  const config = loadConfig({
    DATA_DIR: 'memory://',
    ...(pg ? { DATABASE_URL: pg.url } : {}),
    OPENAI_BASE_URL: fake.openaiBaseUrl,
    OPENAI_API_KEY: 'sk-test-openai-secret',
    ANTHROPIC_BASE_URL: fake.anthropicBaseUrl,
    ANTHROPIC_API_KEY: 'sk-ant-test-secret',
    DEFAULT_PROVIDER: 'openai',
    WORKER_CONCURRENCY: '8',
    LEASE_SECONDS: '5',
    POLL_INTERVAL_MS: '200',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    // Suites drive hundreds of requests a minute through one key; tests/quotas.test.ts sets its own limits.
    RATE_LIMIT_PER_MINUTE: '0',
    // Suites rerun identical jobs and count the teacher's requests; the response cache's own suites (tests/cache*.test.ts) set 'use'.
    CACHE_DEFAULT: 'off',
    ...options.env,
  });
  const quarry = await createQuarry(config, { log: options.log ?? pino({ level: config.logLevel }) });
  await quarry.start();
  const url = quarry.app ? await quarry.app.listen({ port: 0, host: '127.0.0.1' }) : '';
  return {
    quarry,
    config,
    fake,
    url,
    databaseUrl: pg?.url,
    async close() {
      await quarry.stop(0);
      if (!options.fakeLlm) await fake.close();
      await pg?.drop();
    },
  };
}

export const markdownDoc = (name: string, sections: number, words = 40) => ({
  name,
  text: Array.from({ length: sections }, (_, i) =>
    `## Section ${i + 1}\n\n` + Array.from({ length: words }, (_, w) => `fact${i}_${w}`).join(' ') + '. The end of this section.\n',
  ).join('\n'),
});

/** Rows of every kind a request could have written: a refused request must leave these unchanged. */
export async function storedCounts(h: Harness) {
  const [row] = await rows<Record<string, number>>(
    h.quarry.database.db,
    sql`select (select count(*)::int from runs) as runs, (select count(*)::int from tasks) as tasks,
               (select count(*)::int from datasets) as datasets, (select count(*)::int from records) as records,
               (select count(*)::int from topics) as topics`,
  );
  return row;
}
