import { once } from 'node:events';
import net from 'node:net';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../db/client.js';
import { loadConfig } from '../src/config.js';
import { createQuarry, type Quarry } from '../src/quarry.js';
import { pino } from 'pino';
import { createPostgresDatabase, TEST_DATABASE_URL } from './support/databases.js';
import { startHarness, type Harness } from './support/harness.js';

function expectUnavailable(res: request.Response) {
  expect(res.status, JSON.stringify(res.body)).toBe(503);
  expect(res.headers['retry-after']).toMatch(/^\d+$/);
  expect(res.body.error.code).toBe('unavailable');
  expect(typeof res.body.error.message).toBe('string');
  expect(Array.isArray(res.body.error.details)).toBe(true);
}

/** A TCP proxy in front of Postgres that the test can cut (refusing new connections) and restore on the same port. */
async function startCuttableProxy(target: { host: string; port: number }) {
  const sockets = new Set<net.Socket>();
  let server: net.Server | undefined;
  const open = async (port: number) => {
    server = net.createServer((client) => {
      const upstream = net.connect(target.port, target.host);
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
        s.on('error', () => s.destroy());
      }
      client.pipe(upstream).pipe(client);
    });
    server.listen(port, '127.0.0.1');
    await once(server, 'listening');
    return (server.address() as net.AddressInfo).port;
  };
  const port = await open(0);
  return {
    port,
    async cut() {
      const closed = new Promise((resolve) => server!.close(resolve));
      for (const s of sockets) s.destroy();
      await closed;
    },
    restore: () => open(port),
  };
}

describe.skipIf(!TEST_DATABASE_URL)('a Postgres outage answers 503 with Retry-After, then recovers (postgres)', () => {
  let h: Harness;
  let proxy: Awaited<ReturnType<typeof startCuttableProxy>>;
  let pg: Awaited<ReturnType<typeof createPostgresDatabase>>;

  beforeAll(async () => {
    pg = await createPostgresDatabase();
    const url = new URL(pg.url);
    proxy = await startCuttableProxy({ host: url.hostname, port: Number(url.port || 5432) });
    url.host = `127.0.0.1:${proxy.port}`;
    // `db: 'pglite'` only stops the harness creating its own database; DATABASE_URL makes it Postgres.
    h = await startHarness({ db: 'pglite', env: { DATABASE_URL: url.toString() } });
    expect(h.quarry.database.kind).toBe('postgres');
  });
  afterAll(async () => {
    await h?.close();
    await pg?.drop();
  });

  it('GET /v1/runs is 200, 503 while the database is unreachable, and 200 once it is back', async () => {
    await request(h.url).get('/v1/runs').expect(200);
    await proxy.cut();
    expectUnavailable(await request(h.url).get('/v1/runs'));
    expectUnavailable(await request(h.url).get('/v1/datasets'));
    expect((await request(h.url).get('/readyz')).status).toBe(503);
    expect((await request(h.url).get('/healthz')).status).toBe(200);
    await proxy.restore();
    await request(h.url).get('/v1/runs').expect(200);
    await request(h.url).get('/readyz').expect(200);
  });
});

describe('a closed embedded database answers 503 with Retry-After (pglite)', () => {
  let quarry: Quarry;
  let url: string;

  beforeAll(async () => {
    const config = loadConfig({ DATA_DIR: 'memory://', WORKER_CONCURRENCY: '0', LOG_LEVEL: 'silent' });
    // The database is passed in, so the test (not Quarry) closes it, as a dying embedded database would be.
    const database = await openDatabase({ dataDir: 'memory://' });
    quarry = await createQuarry(config, { log: pino({ level: 'silent' }), database });
    await quarry.start();
    url = await quarry.app!.listen({ port: 0, host: '127.0.0.1' });
    await request(url).get('/v1/runs').expect(200);
    await database.close();
  });
  afterAll(async () => {
    await quarry?.stop(0).catch(() => {});
  });

  it('GET /v1/runs and GET /v1/datasets are 503, /healthz still 200', async () => {
    expectUnavailable(await request(url).get('/v1/runs'));
    expectUnavailable(await request(url).get('/v1/datasets'));
    expect((await request(url).get('/healthz')).status).toBe(200);
  });
});
