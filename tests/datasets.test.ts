import { sql } from 'drizzle-orm';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from './support/databases.js';
import { startHarness, type Harness } from './support/harness.js';

const JSONL = 'application/x-ndjson';

function expectError(res: request.Response, status: number, code: string, field?: string) {
  expect(res.status, res.text).toBe(status);
  expect(res.body.error.code, res.text).toBe(code);
  if (field !== undefined) expect(res.body.error.details.map((d: { field?: string }) => d.field), res.text).toContain(field);
}

const lines = (text: string) => text.split('\n').filter(Boolean).map((l) => JSON.parse(l));

const ALPACA = [
  { instruction: 'Translate to French', input: 'hello', output: 'bonjour' },
  { instruction: 'Name a colour', input: '', output: 'blue', system: 'Be brief.' },
];
const CHAT = [
  { messages: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello!' }] },
  {
    messages: [
      { role: 'system', content: 'You are kind.' },
      { role: 'user', content: 'u1' },
      { role: 'assistant', content: 'a1' },
      { role: 'user', content: 'u2' },
      { role: 'assistant', content: 'a2' },
    ],
  },
];

describe.each(DATABASES)('datasets: import, page, export, delete (%s)', (db) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ db });
  });
  afterAll(() => h?.close());

  const importJson = (body: unknown, query = '') => request(h.url).post(`/v1/datasets${query}`).send(body as object);
  const importJsonl = (text: string, query = '?name=lines') => request(h.url).post(`/v1/datasets${query}`).set('content-type', JSONL).send(text);
  const exportText = async (id: string, format: string, extra = '') => {
    const res = await request(h.url).get(`/v1/datasets/${id}/export?format=${format}${extra}`);
    expect(res.status, res.text).toBe(200);
    return res;
  };

  function expectCreated(res: request.Response, name: string, count: number) {
    expect(res.status, res.text).toBe(201);
    const ds = res.body.dataset;
    expect(ds).toMatchObject({ name, record_count: count, meta: { kind: 'import' } });
    expect(ds.id).toMatch(/^ds_[0-9a-f]{24}$/);
    expect(res.headers.location).toBe(`/v1/datasets/${ds.id}`);
    expect(ds.links).toEqual({ self: `/v1/datasets/${ds.id}`, records: `/v1/datasets/${ds.id}/records`, export: `/v1/datasets/${ds.id}/export?format=chatml` });
    return ds.id as string;
  }

  it('imports a JSON array, { name, records } and JSONL', async () => {
    const a = expectCreated(await importJson([{ a: 1 }, { a: 2 }], '?name=array'), 'array', 2);
    const b = expectCreated(await importJson({ name: 'wrapped', records: [{ b: 1 }] }), 'wrapped', 1);
    const c = expectCreated(await importJsonl('{"c":1}\n\n{"c":2}\r\n{"c":3}\n', '?name=lines'), 'lines', 3);
    expect((await request(h.url).get(`/v1/datasets/${a}`).expect(200)).body.dataset.record_count).toBe(2);
    expect((await request(h.url).get(`/v1/datasets/${b}/records`).expect(200)).body.records).toEqual([{ key: 'import#0', data: { b: 1 } }]);
    expect((await request(h.url).get(`/v1/datasets/${c}/records`).expect(200)).body.records.map((r: { data: unknown }) => r.data)).toEqual([{ c: 1 }, { c: 2 }, { c: 3 }]);
    // Without a name, the import still gets one; ?name= wins over the body's name.
    expect((await importJson({ records: [{ x: 1 }] })).body.dataset.name).toMatch(/^import /);
    expect((await importJson({ name: 'body', records: [{ x: 1 }] }, '?name=query')).body.dataset.name).toBe('query');
  });

  it.each([
    ['a JSONL line that is not JSON', 'line.3', () => importJsonl('{"ok":1}\n{"ok":2}\n{"broken":\n')],
    ['a bad JSONL line after a blank one', 'line.3', () => importJsonl('{"ok":1}\n\nnot json\n')],
    ['a JSONL record that is not an object', 'records.1', () => importJsonl('{"ok":1}\n5\n')],
    ['a JSONL record that is an array', 'records.0', () => importJsonl('[{"ok":1}]\n')],
    ['a wrapped record that is not an object', 'records.1', () => importJson({ name: 'x', records: [{ ok: 1 }, 'nope'] })],
    ['a wrapped record that is null', 'records.0', () => importJson({ records: [null] })],
    ['an empty array', 'body', () => importJson([])],
    ['an empty records list', 'records', () => importJson({ name: 'x', records: [] })],
    ['an empty JSONL body', 'records', () => importJsonl('')],
    ['a JSONL body of blank lines', 'records', () => importJsonl('\n \n\n')],
    ['an unknown field next to records', 'tags', () => importJson({ name: 'x', records: [{ a: 1 }], tags: [] })],
    ['an empty ?name=', 'name', () => importJson([{ a: 1 }], '?name=')],
    ['a name that is too long', 'name', () => importJson({ name: 'n'.repeat(201), records: [{ a: 1 }] })],
    ['a bare JSON object', 'records', () => importJson({ a: 1 })],
  ])('rejects %s → 400 naming %s', async (_label, field, send) => {
    expectError(await send(), 400, 'validation_failed', field);
  });

  it('names the index of a non-object item of a bare JSON array', async () => {
    const res = await importJson([{ ok: 1 }, 'nope']);
    expectError(res, 400, 'validation_failed');
    expect(res.body.error.details.map((d: { field: string }) => d.field).some((f: string) => /^(records\.)?1$/.test(f))).toBe(true);
  });

  it('pages records with limit and next_cursor, each record exactly once in insertion order', async () => {
    const records = Array.from({ length: 23 }, (_, i) => ({ n: i, text: `record ${i}` }));
    const id = expectCreated(await importJson(records, '?name=paged'), 'paged', 23);
    const seen: Array<{ key: string; data: unknown }> = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: request.Response = await request(h.url).get(`/v1/datasets/${id}/records?limit=5${cursor ? `&cursor=${cursor}` : ''}`).expect(200);
      expect(res.body.records.length).toBeLessThanOrEqual(5);
      seen.push(...res.body.records);
      cursor = res.body.next_cursor;
      pages += 1;
    } while (cursor !== null && pages < 20);
    expect(pages).toBe(5);
    expect(seen.map((r) => r.key)).toEqual(records.map((_, i) => `import#${i}`));
    expect(seen.map((r) => r.data)).toEqual(records);
    // A page that ends exactly at the last record says so.
    const exact = await request(h.url).get(`/v1/datasets/${id}/records?limit=23`).expect(200);
    expect(exact.body.records).toHaveLength(23);
    expect(exact.body.next_cursor).toBeNull();
  });

  it('exports alpaca-shaped records as chatml and sharegpt', async () => {
    const id = expectCreated(await importJson(ALPACA, '?name=alpaca%20set'), 'alpaca set', 2);
    const chatml = await exportText(id, 'chatml');
    expect(chatml.headers['content-type']).toContain('application/x-ndjson');
    expect(chatml.headers['content-disposition']).toBe('attachment; filename="alpaca_set.chatml.jsonl"');
    expect(lines(chatml.text)).toEqual([
      { messages: [{ role: 'user', content: 'Translate to French\n\nhello' }, { role: 'assistant', content: 'bonjour' }] },
      { messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Name a colour' }, { role: 'assistant', content: 'blue' }] },
    ]);
    expect(lines((await exportText(id, 'sharegpt')).text)).toEqual([
      { conversations: [{ from: 'human', value: 'Translate to French\n\nhello' }, { from: 'gpt', value: 'bonjour' }] },
      { conversations: [{ from: 'human', value: 'Name a colour' }, { from: 'gpt', value: 'blue' }], system: 'Be brief.' },
    ]);
    // system_prompt replaces the record's own system message.
    const replaced = lines((await exportText(id, 'chatml', '&system_prompt=Answer%20in%20French.')).text);
    expect(replaced.map((l) => l.messages.filter((m: { role: string }) => m.role === 'system'))).toEqual([
      [{ role: 'system', content: 'Answer in French.' }],
      [{ role: 'system', content: 'Answer in French.' }],
    ]);
  });

  it('exports chat records as alpaca (earlier turns become history) and sharegpt', async () => {
    const id = expectCreated(await importJsonl(CHAT.map((r) => JSON.stringify(r)).join('\n'), '?name=chat'), 'chat', 2);
    expect(lines((await exportText(id, 'alpaca')).text)).toEqual([
      { instruction: 'Hi', input: '', output: 'Hello!' },
      { instruction: 'u2', input: '', output: 'a2', system: 'You are kind.', history: [['u1', 'a1']] },
    ]);
    expect(lines((await exportText(id, 'sharegpt')).text)).toEqual([
      { conversations: [{ from: 'human', value: 'Hi' }, { from: 'gpt', value: 'Hello!' }] },
      {
        conversations: [
          { from: 'human', value: 'u1' },
          { from: 'gpt', value: 'a1' },
          { from: 'human', value: 'u2' },
          { from: 'gpt', value: 'a2' },
        ],
        system: 'You are kind.',
      },
    ]);
    expect(lines((await exportText(id, 'chatml')).text)).toEqual(CHAT);
  });

  it('refuses to render records without a chat shape (422 naming format), but exports them as jsonl verbatim', async () => {
    const records = [{ zeta: 1, alpha: { y: 2, b: [3, { d: 4, c: 5 }] }, mid: 'é "quoted" \n' }, { foo: 1 }];
    const id = expectCreated(await importJson(records, '?name=plain'), 'plain', 2);
    for (const format of ['chatml', 'alpaca', 'sharegpt']) {
      expectError(await request(h.url).get(`/v1/datasets/${id}/export?format=${format}`), 422, 'unprocessable', 'format');
    }
    const jsonl = await exportText(id, 'jsonl');
    expect(jsonl.text).toBe(records.map((r) => `${JSON.stringify(r)}\n`).join(''));
    // Without ?format the export is jsonl.
    expect((await request(h.url).get(`/v1/datasets/${id}/export`).expect(200)).text).toBe(jsonl.text);
  });

  it('refuses a dataset where only some records have a chat shape', async () => {
    const id = expectCreated(await importJson([...ALPACA, { foo: 1 }], '?name=mixed'), 'mixed', 3);
    const res = await request(h.url).get(`/v1/datasets/${id}/export?format=chatml`);
    expectError(res, 422, 'unprocessable', 'format');
    expect(res.body.error.message).toMatch(/^1 records? /);
  });

  it('deletes a dataset: 204, then 404 for it, its records and its export', async () => {
    const id = expectCreated(await importJson([{ a: 1 }], '?name=doomed'), 'doomed', 1);
    const del = await request(h.url).delete(`/v1/datasets/${id}`);
    expect(del.status).toBe(204);
    expect(del.text).toBe('');
    for (const path of [`/v1/datasets/${id}`, `/v1/datasets/${id}/records`, `/v1/datasets/${id}/export?format=jsonl`]) {
      expectError(await request(h.url).get(path), 404, 'not_found', 'id');
    }
    expectError(await request(h.url).delete(`/v1/datasets/${id}`), 404, 'not_found', 'id');
  });

  it('streams every line of a large export', async () => {
    const n = 5000;
    const records = Array.from({ length: n }, (_, i) => ({ question: `Question ${i}?`, answer: `Answer ${i}.` }));
    const id = expectCreated(await importJson(records, '?name=large'), 'large', n);
    const jsonl = lines((await exportText(id, 'jsonl')).text);
    expect(jsonl).toHaveLength(n);
    expect(jsonl).toEqual(records);
    const chatml = lines((await exportText(id, 'chatml')).text);
    expect(chatml).toHaveLength(n);
    expect(chatml[n - 1]).toEqual({ messages: [{ role: 'user', content: `Question ${n - 1}?` }, { role: 'assistant', content: `Answer ${n - 1}.` }] });
    expect(new Set(chatml.map((l) => l.messages[0].content)).size).toBe(n);
  });
});

describe.each(DATABASES)('GET /v1/datasets: newest first, paged with next_before (%s)', (db) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ db });
  });
  afterAll(() => h?.close());

  async function listAll(limit: number) {
    const ids: string[] = [];
    let before: string | null = null;
    for (let pages = 0; pages < 50; pages++) {
      const res: request.Response = await request(h.url).get(`/v1/datasets?limit=${limit}${before ? `&before=${encodeURIComponent(before)}` : ''}`).expect(200);
      expect(res.body.datasets.length).toBeLessThanOrEqual(limit);
      ids.push(...res.body.datasets.map((d: { id: string }) => d.id));
      before = res.body.next_before;
      if (before === null) return ids;
    }
    throw new Error('paging did not end');
  }

  it('lists imports newest first and visits each exactly once across pages', async () => {
    const created: string[] = [];
    for (let i = 0; i < 7; i++) created.push((await request(h.url).post(`/v1/datasets?name=d${i}`).send([{ i }]).expect(201)).body.dataset.id);
    const first = await request(h.url).get('/v1/datasets?limit=3').expect(200);
    expect(first.body.datasets.map((d: { name: string }) => d.name)).toEqual(['d6', 'd5', 'd4']);
    expect(first.body.next_before).toEqual(expect.any(String));
    expect(await listAll(3)).toEqual([...created].reverse());
    expect(await listAll(7)).toEqual([...created].reverse());
  });

  it('does not skip datasets created in the same millisecond as a page boundary', async () => {
    await h.quarry.database.db.execute(sql`delete from datasets`);
    const ids = Array.from({ length: 6 }, (_, i) => `ds_${String(i).repeat(24)}`);
    // Two concurrent imports land microseconds apart (or, in one instant, at the same time).
    const stamps = ['2025-03-01 12:00:00.123900+00', '2025-03-01 12:00:00.123800+00', '2025-03-01 12:00:00.123700+00', '2025-03-01 12:00:00.123700+00', '2025-03-01 12:00:00.100000+00', '2025-03-01 12:00:00.100000+00'];
    for (const [i, id] of ids.entries()) {
      await h.quarry.database.db.execute(sql`insert into datasets (id, owner, name, created_at) values (${id}, '', ${`same-ms ${i}`}, ${stamps[i]}::timestamptz)`);
    }
    for (const limit of [1, 2, 3, 4, 5]) {
      const visited = await listAll(limit);
      expect(new Set(visited).size, `limit=${limit}: ${visited.join(',')}`).toBe(visited.length);
      expect([...visited].sort(), `limit=${limit}`).toEqual([...ids].sort());
    }
  });
});
