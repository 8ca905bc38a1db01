import { sql, type SQL } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, rows, type Database } from '../db/client.js';
import { evictEmbeddings, evictTeacherCache } from '../db/eviction.js';
import { startEviction } from '../db/maintenance.js';
import { teacherCacheStore } from '../db/teacher-cache.repository.js';
import { loadConfig } from '../src/config.js';
import { startFakeLlm, type FakeLlm } from '../src/fake-llm/server.js';
import { MAX_CACHED_ANSWER_BYTES, responseCache, type TeacherCacheStore } from '../src/llm/cache.js';
import { createLlmClient, type LlmClient } from '../src/llm/llm.client.js';
import { loadProviders } from '../src/llm/providers.js';
import { emptyUsage } from '../src/llm/usage.js';
import { foldCache } from '../services/jobs/job-cache.js';
import { hashOf } from '../src/ids.js';
import { pino } from 'pino';
import { createPostgresDatabase, DATABASES } from './support/databases.js';

/**
 * Medium level: the cache middleware with the real store on a real database and the real SDK
 * against the fake teacher, no HTTP and no worker; and the bounds' eviction SQL.
 */
describe.each(DATABASES)('response cache bounds and keys (%s)', (db) => {
  let sut: Database;
  let drop: (() => Promise<void>) | undefined;
  let fake: FakeLlm;
  let store: TeacherCacheStore;
  let llm: LlmClient;
  let providers: ReturnType<typeof loadProviders>;
  beforeAll(async () => {
    const pg = db === 'postgres' ? await createPostgresDatabase() : undefined;
    drop = pg?.drop;
    sut = await openDatabase(pg ? { databaseUrl: pg.url } : { dataDir: 'memory://' });
    fake = await startFakeLlm({ latencyMs: 1 });
    store = teacherCacheStore(sut.db, { ttlDays: 30 });
    providers = loadProviders(loadConfig({ OPENAI_BASE_URL: fake.openaiBaseUrl, OPENAI_API_KEY: 'k', DEFAULT_PROVIDER: 'openai' }));
    llm = createLlmClient({ providers, middleware: [responseCache({ store })] });
  });
  afterAll(async () => {
    await fake?.close();
    await sut?.close();
    await drop?.();
  });
  beforeEach(async () => {
    fake.reset();
    await sut.db.execute(sql`truncate teacher_cache, embeddings`);
  });

  const context = (taskKey: string, owner = 'owner-a') => ({ owner, runId: 'run_x', taskId: 1, taskKey });
  const ask = (client: LlmClient, temperature: number, content = 'Name a colour.') => {
    const usage = emptyUsage();
    return client.complete({ llm: { temperature }, request: { messages: [{ role: 'user', content }] }, signal: new AbortController().signal, usage }).then((c) => ({ ...c, usage }));
  };
  const count = async (table = 'teacher_cache') => (await rows<{ n: number }>(sut.db, sql`select count(*)::int as n from ${sql.raw(table)}`))[0].n;

  it('keeps samples above temperature 0 apart: two tasks, or one task asking twice, each get their own answer', async () => {
    await ask(llm.bind(context('t1')), 0.7);
    await ask(llm.bind(context('t2')), 0.7);
    const twice = llm.bind(context('t3'));
    await ask(twice, 0.7);
    await ask(twice, 0.7);
    expect(fake.stats().completions).toBe(4);
    expect(await count()).toBe(4);
    // An identical rerun of those tasks gets each sample back, not one for all.
    fake.reset();
    const again = await ask(llm.bind(context('t2')), 0.7);
    expect(again.response.via).toBe('cache');
    expect(again.usage).toEqual({ requests: 0, input_tokens: 0, output_tokens: 0, cost_usd: 0, cache_hits: 1 });
    expect(fake.stats().completions).toBe(0);
  });

  it('shares one answer at temperature 0 between tasks of one owner, never across owners', async () => {
    await ask(llm.bind(context('t1')), 0);
    const second = await ask(llm.bind(context('t2')), 0);
    expect(second.response.via).toBe('cache');
    expect(fake.stats().completions).toBe(1);
    const other = await ask(llm.bind(context('t1', 'owner-b')), 0);
    expect(other.response.via).toBeUndefined();
    expect(fake.stats().completions).toBe(2);
  });

  it('with a cacheDefault of off (CACHE_DEFAULT), only calls naming llm.cache use the cache', async () => {
    const off = createLlmClient({ providers, middleware: [responseCache({ store })], cacheDefault: 'off' });
    await ask(off.bind(context('t1')), 0);
    await ask(off.bind(context('t1')), 0);
    expect(fake.stats().completions).toBe(2);
    expect(await count()).toBe(0);
    const named = { llm: { temperature: 0, cache: 'use' as const }, request: { messages: [{ role: 'user' as const, content: 'Name a colour.' }] }, signal: new AbortController().signal, usage: emptyUsage() };
    await off.bind(context('t1')).complete(named);
    expect((await off.bind(context('t2')).complete(named)).response.via).toBe('cache');
    expect(fake.stats().completions).toBe(3);
  });

  it('leaves calls outside a task (no context) alone', async () => {
    await ask(llm, 0);
    await ask(llm, 0);
    expect(fake.stats().completions).toBe(2);
    expect(await count()).toBe(0);
  });

  it('does not keep a refusal or a truncated answer', async () => {
    fake.configure({ faults: [{ kind: 'refusal', times: 1 }, { kind: 'truncate', match: 'Truncate', times: 1 }] });
    await ask(llm.bind(context('t1')), 0);
    await ask(llm.bind(context('t2')), 0, 'Truncate this.');
    expect(await count()).toBe(0);
  });

  it(`passes on an answer bigger than ${MAX_CACHED_ANSWER_BYTES} bytes without keeping it`, async () => {
    const kept: number[] = [];
    const big = responseCache({ store: { get: async () => undefined, put: async (e) => void kept.push(e.bytes) } })(async () => ({ text: 'x'.repeat(MAX_CACHED_ANSWER_BYTES), tool_calls: [], finish: 'stop', usage: { input: 1, output: 1 } }));
    const small = responseCache({ store: { get: async () => undefined, put: async (e) => void kept.push(e.bytes) } })(async () => ({ text: 'ok', tool_calls: [], finish: 'stop', usage: { input: 1, output: 1 } }));
    const call = { provider: llm.resolve({}).provider, model: 'm', request: { messages: [] }, cache: 'use' as const, mode: 'online' as const, context: context('t1'), key: 'k' };
    expect((await big(call, new AbortController().signal)).text.length).toBe(MAX_CACHED_ANSWER_BYTES);
    await small(call, new AbortController().signal);
    expect(kept).toHaveLength(1);
  });

  it('looks up and keeps the answers of calls started together in one statement each, and one answer Postgres refuses costs only itself', async () => {
    const answer = (text: string) => ({ text, tool_calls: [], finish: 'stop' as const, usage: { input: 1, output: 1 }, model: 'm' });
    const entry = (key: string, text: string) => ({ owner: 'batch-owner', key, provider: 'openai', model: 'm', response: answer(text), bytes: text.length });
    // A store on an executor that counts its statements.
    let statements = 0;
    const counted = new Proxy(sut.db, { get: (db, name) => (name === 'execute' ? (q: SQL) => (statements++, db.execute(q)) : Reflect.get(db, name)) });
    const batched = teacherCacheStore(counted, { ttlDays: 30 });
    // 300 writes in one turn: two statements of at most 256, one holding an answer jsonb cannot store (a NUL).
    const settled = await Promise.allSettled(Array.from({ length: 300 }, (_, i) => batched.put(entry(`k${i}`, i === 7 ? 'bad\u0000answer' : `answer ${i}`))));
    expect(settled.filter((r) => r.status === 'rejected')).toHaveLength(1);
    expect(settled[7].status).toBe('rejected');
    const [kept] = await rows<{ n: number }>(sut.db, sql`select count(*)::int as n from teacher_cache where owner = 'batch-owner'`);
    expect(kept.n).toBe(299);
    // The 256 with the NUL failed as one statement and were retried one by one; the other 44 went as one.
    expect(statements).toBe(1 + 256 + 1);
    // 300 lookups in one turn: two statements, each call gets its own answer back, a missing one nothing.
    statements = 0;
    const got = await Promise.all(Array.from({ length: 300 }, (_, i) => batched.get('batch-owner', `k${i}`)));
    expect(statements).toBe(2);
    got.forEach((r, i) => expect(r?.text).toBe(i === 7 ? undefined : `answer ${i}`));
    expect(await batched.get('another-owner', 'k1')).toBeUndefined();
    const [hits] = await rows<{ hits: number }>(sut.db, sql`select sum(hits)::int as hits from teacher_cache where owner = 'batch-owner'`);
    expect(hits.hits).toBe(299);
  });

  it('does not answer from an entry older than the TTL, and eviction deletes it', async () => {
    await ask(llm.bind(context('t1')), 0);
    await ask(llm.bind(context('t2')), 0, 'Another question.');
    const [{ key: expiredKey }] = await rows<{ key: string }>(sut.db, sql`select key from teacher_cache order by key limit 1`);
    await sut.db.execute(sql`update teacher_cache set created_at = now() - interval '31 days' where key = ${expiredKey}`);
    expect(await store.get('owner-a', expiredKey)).toBeUndefined();
    expect(await evictTeacherCache(sut.db, { ttlDays: 30, maxBytes: 1e12 })).toEqual({ expired: 1, evicted: 0 });
    expect(await count()).toBe(1);
    // TTL 0: no age limit.
    await sut.db.execute(sql`update teacher_cache set created_at = now() - interval '3650 days'`);
    expect(await evictTeacherCache(sut.db, { ttlDays: 0, maxBytes: 1e12 })).toEqual({ expired: 0, evicted: 0 });
  });

  it('cuts the cache to its size bound, least recently used first', async () => {
    for (let i = 0; i < 5; i++) await ask(llm.bind(context(`t${i}`)), 0, `Question ${i}.`);
    const keys = await rows<{ key: string; bytes: number }>(sut.db, sql`select key, bytes from teacher_cache`);
    expect(keys).toHaveLength(5);
    // Their last uses, a minute apart: order[0] the least recently used.
    const order = keys.map((k) => k.key).reverse();
    for (const [i, key] of order.entries()) await sut.db.execute(sql`update teacher_cache set last_used_at = now() - ${60 - i} * interval '1 minute' where key = ${key}`);
    const total = keys.reduce((s, k) => s + k.bytes, 0);
    const sizeOf = (key: string) => keys.find((k) => k.key === key)!.bytes;
    // A bound one byte under the total: only the least recently used goes.
    expect(await evictTeacherCache(sut.db, { ttlDays: 30, maxBytes: total - 1 })).toEqual({ expired: 0, evicted: 1 });
    const left = new Set((await rows<{ key: string }>(sut.db, sql`select key from teacher_cache`)).map((r) => r.key));
    expect(left.has(order[0])).toBe(false);
    // Room for exactly the two most recently used.
    const room = sizeOf(order[3]) + sizeOf(order[4]);
    expect(await evictTeacherCache(sut.db, { ttlDays: 30, maxBytes: room })).toEqual({ expired: 0, evicted: 2 });
    expect(new Set((await rows<{ key: string }>(sut.db, sql`select key from teacher_cache`)).map((r) => r.key))).toEqual(new Set([order[3], order[4]]));
    // Under the bound: nothing more goes.
    expect(await evictTeacherCache(sut.db, { ttlDays: 30, maxBytes: room })).toEqual({ expired: 0, evicted: 0 });
  });

  it('bounds the embeddings too: TTL, then the oldest until the vectors fit', async () => {
    for (let i = 0; i < 4; i++) {
      await sut.db.execute(sql`insert into embeddings (owner, model_key, text_hash, dims, vector, created_at)
        values ('o', 'm', ${`h${i}`}, 4, decode('00000000000000000000000000000000', 'hex'), now() - ${10 - i} * interval '1 day')`);
    }
    // h0 is 10 days old: past a 9.5-day TTL. Then 3 vectors of 16 bytes for a bound of 32: the oldest (h1) goes.
    expect(await evictEmbeddings(sut.db, { ttlDays: 9.5, maxBytes: 32 })).toEqual({ expired: 1, evicted: 1 });
    expect((await rows<{ text_hash: string }>(sut.db, sql`select text_hash from embeddings order by text_hash`)).map((r) => r.text_hash)).toEqual(['h2', 'h3']);
  });

  it('the maintenance loop applies both bounds', async () => {
    await ask(llm.bind(context('t1')), 0);
    await sut.db.execute(sql`update teacher_cache set created_at = now() - interval '2 days'`);
    const stop = startEviction(sut, pino({ level: 'silent' }), { teacherCache: { ttlDays: 1, maxBytes: 1e9 }, embeddings: { ttlDays: 1, maxBytes: 1e9 } }, 20);
    try {
      await expect.poll(() => count(), { timeout: 5000 }).toBe(0);
    } finally {
      stop();
    }
  });
});

describe('cache bounds configuration', () => {
  it('reads CACHE_DEFAULT, CACHE_TTL_DAYS, CACHE_MAX_MB, EMBEDDINGS_TTL_DAYS and EMBEDDINGS_MAX_MB, with defaults', () => {
    expect(loadConfig({}).caches).toEqual({ teacherCache: { ttlDays: 30, maxBytes: 1024 ** 3 }, embeddings: { ttlDays: 90, maxBytes: 4096 * 1024 ** 2 } });
    expect(loadConfig({ CACHE_TTL_DAYS: '0.5', CACHE_MAX_MB: '10', EMBEDDINGS_TTL_DAYS: '0', EMBEDDINGS_MAX_MB: '1' }).caches).toEqual({
      teacherCache: { ttlDays: 0.5, maxBytes: 10 * 1024 ** 2 },
      embeddings: { ttlDays: 0, maxBytes: 1024 ** 2 },
    });
    expect(() => loadConfig({ CACHE_MAX_MB: '0' })).toThrow(/CACHE_MAX_MB/);
    expect([loadConfig({}).cacheDefault, loadConfig({ CACHE_DEFAULT: 'off' }).cacheDefault]).toEqual(['use', 'off']);
    expect(() => loadConfig({ CACHE_DEFAULT: 'sometimes' })).toThrow(/CACHE_DEFAULT/);
  });
});

describe('the cache option folded into llm.cache', () => {
  it('moves cache into llm, leaving no trace of the other spelling, and refuses a different llm.cache naming the field', () => {
    const folded = foldCache({ n_pairs: 1, cache: 'refresh', llm: { model: 'm' } });
    expect(folded).toStrictEqual({ n_pairs: 1, llm: { model: 'm', cache: 'refresh' } });
    expect(hashOf(folded)).toBe(hashOf({ n_pairs: 1, llm: { model: 'm', cache: 'refresh' } }));
    expect(foldCache({ cache: 'off', llm: { cache: 'off' } })).toStrictEqual({ llm: { cache: 'off' } });
    expect(() => foldCache({ cache: 'off', llm: { cache: 'use' } }, 'curate.')).toThrow(expect.objectContaining({ details: [expect.objectContaining({ field: 'curate.cache' })] }));
  });
});
