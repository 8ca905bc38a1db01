import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as lancedb from '@lancedb/lancedb';
import { sql } from 'drizzle-orm';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errSerializer } from '../src/log-serializers.js';
import { startFakeLlm, type FakeLlm } from '../src/fake-llm/server.js';
import { DATABASES } from './support/databases.js';
import { markdownDoc, startHarness, type Harness } from './support/harness.js';
import { writePhagocyteTables } from './support/lancedb-fixture.js';
import { captureLog } from './support/log-capture.js';

const SECRET = 'TOP-SECRET-TENANT-B launch codes';

describe('LanceDB sources never read outside LANCEDB_ROOTS, tables and links inside them included', () => {
  let h: Harness;
  const root = mkdtempSync(join(tmpdir(), 'quarry-iso-root-'));
  const secret = mkdtempSync(join(tmpdir(), 'quarry-iso-secret-'));
  const db = join(root, 'db');
  const dataLinked = join(root, 'data-linked');
  const manifestLinked = join(root, 'manifest-linked');
  const sibling = join(root, 'sibling');

  beforeAll(async () => {
    // The secret database, outside the root, with a table of the same name.
    const outside = await lancedb.connect(secret);
    await outside.createTable('text_chunks', [{ id: 's1', content: SECRET, source_file: 'secret.md' }], { mode: 'overwrite' });
    await outside.createTable('code_chunks', [{ id: 's2', content: SECRET, source_file: 'secret.py' }], { mode: 'overwrite' });
    // allowed/db/text_chunks.lance → secret/text_chunks.lance
    for (const dir of [db, dataLinked, manifestLinked, sibling]) {
      mkdirSync(dir, { recursive: true });
      await writePhagocyteTables(dir);
    }
    rmSync(join(db, 'text_chunks.lance'), { recursive: true });
    symlinkSync(join(secret, 'text_chunks.lance'), join(db, 'text_chunks.lance'));
    // A table whose data directory is a link out of the root.
    rmSync(join(dataLinked, 'code_chunks.lance', 'data'), { recursive: true });
    symlinkSync(join(secret, 'code_chunks.lance', 'data'), join(dataLinked, 'code_chunks.lance', 'data'));
    // A database whose namespace manifest (read on connect) is a link out of the root.
    rmSync(join(manifestLinked, '__manifest'), { recursive: true, force: true });
    symlinkSync(secret, join(manifestLinked, '__manifest'));
    // A link that stays inside the root is fine.
    rmSync(join(sibling, 'text_chunks.lance'), { recursive: true });
    symlinkSync(join(dataLinked, 'text_chunks.lance'), join(sibling, 'text_chunks.lance'));
    h = await startHarness({ db: 'pglite', fake: { latencyMs: 2 }, env: { LANCEDB_ROOTS: root } });
  });
  afterAll(() => h?.close());

  const generate = (lance: Record<string, unknown>) => request(h.url).post('/v1/generate').set('Prefer', 'wait=20').send({ lancedb: lance, n_pairs: 1 });

  it.each([
    ['a table that is a link out of the root', { uri: db, tables: ['code_chunks', 'text_chunks'] }, 'lancedb.tables.1'],
    ['a table whose data directory links out of the root', { uri: dataLinked, tables: ['code_chunks'] }, 'lancedb.tables.0'],
    ['a database whose __manifest links out of the root', { uri: manifestLinked, tables: ['text_chunks'] }, 'lancedb.uri'],
  ])('refuses %s with a 400 naming %s, reading nothing', async (_label, lance, field) => {
    h.fake.reset();
    const runsBefore = (await request(h.url).get('/v1/runs').expect(200)).body.runs.length;
    const res = await generate(lance);
    expect(res.status, res.text).toBe(400);
    expect(res.body.error.details.map((d: { field: string }) => d.field)).toContain(field);
    expect(res.body.error.message).toContain('outside LANCEDB_ROOTS');
    expect(res.text).not.toContain(secret);
    expect((await request(h.url).get('/v1/runs').expect(200)).body.runs.length).toBe(runsBefore);
    expect(JSON.stringify(h.fake.requests())).not.toContain(SECRET);
  });

  it('follows links that stay inside the roots', async () => {
    const run = (await generate({ uri: sibling, tables: ['text_chunks'] }).expect(200)).body.run;
    expect(run).toMatchObject({ status: 'succeeded', progress: { total: 3 } });
  });
});

describe('/metrics labels only configured providers and models', () => {
  let h: Harness;
  let fake: FakeLlm;
  beforeAll(async () => {
    fake = await startFakeLlm({ latencyMs: 2 });
    const dir = mkdtempSync(join(tmpdir(), 'quarry-iso-providers-'));
    const file = join(dir, 'providers.yaml');
    writeFileSync(file, `default: teacher\nproviders:\n  teacher:\n    kind: openai\n    base_url: ${fake.openaiBaseUrl}\n    model: house-model\n    models: [house-extra]\n`);
    h = await startHarness({ db: 'pglite', fakeLlm: fake, env: { PROVIDERS_FILE: file, DEFAULT_PROVIDER: 'teacher', API_KEYS: 'key-a,key-b' } });
  });
  afterAll(async () => {
    await h?.close();
    await fake?.close();
  });

  it('writes a client-chosen model as "other", whatever its length, and configured ones by name', async () => {
    const tenantModel = `tenant-b-private-finetune-${'x'.repeat(5000)}`;
    for (const model of [undefined, 'house-extra', tenantModel]) {
      const res = await request(h.url)
        .post('/v1/generate')
        .set('authorization', 'Bearer key-b')
        .set('Prefer', 'wait=20')
        .send({ documents: [markdownDoc('m.md', 1)], n_pairs: 1, ...(model ? { llm: { model } } : {}) });
      expect(res.status, res.text.slice(0, 300)).toBe(200);
      expect(res.body.run.status).toBe('succeeded');
    }
    const text = (await request(h.url).get('/metrics').expect(200)).text;
    expect(text).toMatch(/quarry_llm_requests_total\{provider="teacher",model="house-model",outcome="ok"\} [1-9]/);
    expect(text).toMatch(/quarry_llm_requests_total\{provider="teacher",model="house-extra",outcome="ok"\} [1-9]/);
    expect(text).toMatch(/quarry_llm_requests_total\{provider="teacher",model="other",outcome="ok"\} [1-9]/);
    expect(text).not.toContain('tenant-b-private');
    const longest = Math.max(...text.split('\n').map((l) => l.length));
    expect(longest).toBeLessThan(500);
  });
});

describe('METRICS_TOKEN protects /metrics', () => {
  let h: Harness;
  const token = 'metrics-token-0123456789abcdef';
  beforeAll(async () => {
    h = await startHarness({ db: 'pglite', env: { API_KEYS: 'key-a', METRICS_TOKEN: token } });
  });
  afterAll(() => h?.close());

  it.each([
    ['no Authorization', undefined],
    ['a wrong token', 'Bearer not-the-token-at-all-000000'],
    ['an API key', 'Bearer key-a'],
    ['the token without the scheme', token],
  ])('answers 401 in the error shape to %s', async (_label, authorization) => {
    const req = request(h.url).get('/metrics');
    const res = await (authorization ? req.set('authorization', authorization) : req);
    expect(res.status, res.text).toBe(401);
    expect(res.body.error).toMatchObject({ code: 'unauthorized', details: [{ field: 'Authorization' }] });
    expect(res.text).not.toContain('quarry_');
  });

  it('serves the metrics to the bearer of the token; the probes stay open', async () => {
    const res = await request(h.url).get('/metrics').set('authorization', `Bearer ${token}`).expect(200);
    expect(res.text).toContain('quarry_runs');
    await request(h.url).get('/healthz').expect(200);
    await request(h.url).get('/readyz').expect(200);
  });

  it('refuses a token too short to be one (config)', async () => {
    const { loadConfig } = await import('../src/config.js');
    expect(() => loadConfig({ METRICS_TOKEN: 'short' })).toThrow(/METRICS_TOKEN/);
  });
});

describe.each(DATABASES)('the error log holds ids and sizes, never payloads (%s)', (db) => {
  let h: Harness;
  const logs = captureLog('info');
  const MARKER = 'PAYLOAD-MARKER-do-not-log';
  beforeAll(async () => {
    h = await startHarness({ db, log: logs.log, env: { WORKER_CONCURRENCY: '0' } });
    // Every task insert fails: the failing statement's parameters carry the document's chunks.
    await h.quarry.database.db.execute(
      sql.raw(`create function quarry_test_fail() returns trigger language plpgsql as $$ begin raise exception 'forced failure for the log test'; end $$`),
    );
    await h.quarry.database.db.execute(sql.raw('create trigger quarry_test_fail before insert on tasks for each statement execute function quarry_test_fail()'));
  });
  afterAll(() => h?.close());

  it('logs a failed 1 MB request as a bounded line without the document text', async () => {
    const words = 120_000;
    const text = Array.from({ length: words }, (_, i) => (i % 50 === 0 ? `\n\n## Part ${i}\n\n${MARKER}` : `word${i}`)).join(' ');
    expect(text.length).toBeGreaterThan(1_000_000);
    logs.clear();
    const res = await request(h.url).post('/v1/generate').send({ documents: [{ name: 'big.md', text }], n_pairs: 1 });
    expect(res.status, res.text.slice(0, 300)).toBe(500);
    expect(res.text).not.toContain(MARKER);
    const lines = logs.lines();
    const failure = logs.entries().find((e) => e.level === 50);
    expect(failure, lines.join('\n').slice(0, 2000)).toBeDefined();
    expect(failure!.err.message).toContain('params: [omitted]');
    expect(JSON.stringify(failure!.err)).toContain('forced failure for the log test');
    for (const line of lines) {
      expect(line.length).toBeLessThan(16_384);
      expect(line).not.toContain(MARKER);
    }
  });
});

describe('request log lines', () => {
  const logs = captureLog('info');
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ db: 'pglite', log: logs.log, env: { WORKER_CONCURRENCY: '0' } });
  });
  afterAll(() => h?.close());

  it('name the route and the size of the query string, never its text', async () => {
    const marker = 'QUERY-MARKER-do-not-log';
    logs.clear();
    await request(h.url).get(`/v1/datasets/ds_0123456789abcdef01234567/export?format=chatml&system_prompt=${marker.repeat(200)}`).expect(404);
    const incoming = logs.entries().filter((e) => e.req);
    expect(incoming.length).toBeGreaterThan(0);
    expect(incoming[0].req).toMatchObject({ method: 'GET', url: '/v1/datasets/ds_0123456789abcdef01234567/export' });
    expect(incoming[0].req.query_bytes).toBeGreaterThan(marker.length * 200);
    expect(logs.lines().join('\n')).not.toContain(marker);
  });
});

describe('errSerializer', () => {
  it('drops query and parameters, caps message, stack and fields, and follows causes', () => {
    const big = 'Z'.repeat(3_000_000);
    const root = Object.assign(new Error(`duplicate key value ${big}`), { code: '23505', detail: `Key (text)=(${big}) already exists.`, query: `insert ${big}`, parameters: [big] });
    const wrapped = Object.assign(new Error(`Failed query: insert into records values ($1)\nparams: ${big}`, { cause: root }), { query: 'insert into records values ($1)', params: [big] });
    const out = errSerializer(wrapped) as Record<string, any>;
    const json = JSON.stringify(out);
    expect(json.length).toBeLessThan(16_384);
    expect(out).not.toHaveProperty('params');
    expect(out).not.toHaveProperty('query');
    expect(out.message).toBe('Failed query: insert into records values ($1)\nparams: [omitted]');
    expect(out.cause).toMatchObject({ type: 'Error', code: '23505' });
    expect(out.cause).not.toHaveProperty('parameters');
    expect(out.cause.message.length).toBeLessThan(2_200);
    expect(out.cause.detail.length).toBeLessThan(600);
    // A plain object with a message (as some handlers log) is capped the same way.
    expect(JSON.stringify(errSerializer({ message: big, code: 'X' })).length).toBeLessThan(2_200);
  });
});
