import net from 'node:net';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from './support/databases.js';
import { startHarness, storedCounts, type Harness } from './support/harness.js';

/** The error contract: status, code, a message, and the field named in details. */
function expectError(res: { status: number; body: any }, status: number, code: string, field?: string) {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.body?.error?.code, JSON.stringify(res.body)).toBe(code);
  expect(typeof res.body.error.message).toBe('string');
  expect(Array.isArray(res.body.error.details)).toBe(true);
  if (field !== undefined) expect(res.body.error.details.map((d: { field?: string }) => d.field), JSON.stringify(res.body)).toContain(field);
}

/** Sends bytes on a fresh connection and returns status and JSON body of the answer (Node's parser errors come from here). */
async function rawHttp(h: Harness, data: string | Buffer): Promise<{ status: number; body: any }> {
  const socket = net.connect(Number(new URL(h.url).port), '127.0.0.1');
  let out = '';
  socket.on('data', (d) => (out += d.toString('latin1')));
  socket.write(data);
  await new Promise((resolve) => socket.on('close', resolve).on('error', resolve));
  const [head, body] = [out.slice(0, out.indexOf('\r\n\r\n')), out.slice(out.indexOf('\r\n\r\n') + 4)];
  return { status: Number(head.split(' ')[1]), body: JSON.parse(body) };
}

const doc = { name: 'a.md', text: '# A\n\nSome facts about leases.' };
const json = (o: unknown) => ({ type: 'application/json', body: JSON.stringify(o) });
const jsonl = (text: string) => ({ type: 'application/x-ndjson', body: text });
const yaml = (text: string) => ({ type: 'application/yaml', body: text });

// [label, method, url, body, field named]. JSON.stringify writes NUL as \u0000 and an unpaired surrogate as \ud800.
type Body = { type: string; body: string } | undefined;
const STRING_CASES: Array<[string, 'get' | 'post', string, Body, string]> = [
  ['generate: NUL in a document name', 'post', '/v1/generate', json({ documents: [{ ...doc, name: 'a\u0000.md' }] }), 'documents.0.name'],
  ['generate: unpaired high surrogate in document text', 'post', '/v1/generate', json({ documents: [{ ...doc, text: 'x \ud800 y' }] }), 'documents.0.text'],
  ['generate: unpaired low surrogate in system_prompt', 'post', '/v1/generate', json({ documents: [doc], system_prompt: '\udc00' }), 'system_prompt'],
  ['generate: NUL in llm.model', 'post', '/v1/generate', json({ documents: [doc], llm: { model: 'm\u0000' } }), 'llm.model'],
  ['generate: NUL in a key', 'post', '/v1/generate', json({ documents: [doc], 'x\u0000': 1 }), 'x\\u0000'],
  ['generate: surrogate in a nested key', 'post', '/v1/generate', json({ documents: [{ ...doc, ['k\ud800']: 1 }] }), 'documents.0.k\\ud800'],
  ['topics: NUL in prompt', 'post', '/v1/topics', json({ prompt: 'Postgres\u0000' }), 'prompt'],
  ['enrich: NUL in a record', 'post', '/v1/enrich', json({ records: [{ question: 'q\u0000', answer: 'a' }] }), 'records.0.question'],
  ['curate: surrogate in topic', 'post', '/v1/curate', json({ records: [{ question: 'q', answer: 'a' }], topic: 'ops \udfff' }), 'topic'],
  ['pipelines: NUL deep in a stage', 'post', '/v1/pipelines', json({ topics: { prompt: 'p\u0000' } }), 'topics.prompt'],
  ['pipelines: NUL in a YAML config', 'post', '/v1/pipelines', yaml('topics:\n  prompt: "Postgres\\0"\n'), 'topics.prompt'],
  ['pipelines: surrogate escape in a YAML config', 'post', '/v1/pipelines', yaml('topics:\n  prompt: "x\\ud800"\n'), 'topics.prompt'],
  ['datasets: NUL in a JSON array record', 'post', '/v1/datasets', json([{ q: 'fine' }, { q: 'a\u0000' }]), '1.q'],
  ['datasets: surrogate in { name }', 'post', '/v1/datasets', json({ name: 'n\ud800', records: [{ q: 'a' }] }), 'name'],
  ['datasets: NUL escape in JSONL', 'post', '/v1/datasets', jsonl('{"q":"a"}\n{"q":"b\\u0000"}\n'), 'line.2.q'],
  ['datasets: surrogate escape in a JSONL key', 'post', '/v1/datasets', jsonl('{"k\\udbff":"a"}\n'), 'line.1.k\\udbff'],
  ['datasets: NUL in ?name', 'post', '/v1/datasets?name=a%00', json([{ q: 'a' }]), 'name'],
  ['topics import: NUL escape in a tree path', 'post', '/v1/topics/import', jsonl('{"path":["root","b\\u0000"]}\n'), 'line.1.path.1'],
  ['topics import: NUL in a graph node', 'post', '/v1/topics/import', json({ root_id: 'a', nodes: { a: { topic: 'x\u0000', children: [] } } }), 'nodes.a.topic'],
  ['runs: ?kind=%00', 'get', '/v1/runs?kind=%00', undefined, 'kind'],
  ['runs: ?status= not UTF-8', 'get', '/v1/runs?status=%ED%A0%80', undefined, 'status'],
  ['runs: ?kind= not UTF-8', 'get', '/v1/runs?kind=%FF', undefined, 'kind'],
  ['runs: NUL in a path id', 'get', '/v1/runs/run_%00', undefined, 'id'],
  ['export: NUL in ?system_prompt', 'get', '/v1/datasets/ds_0123456789abcdef01234567/export?system_prompt=%00', undefined, 'system_prompt'],
];

const PROTO_CASES: Array<[string, string, Body, string]> = [
  ['__proto__ at the top of a generate body', '/v1/generate', { type: 'application/json', body: `{"documents":${JSON.stringify([doc])},"__proto__":{"polluted":1}}` }, '__proto__'],
  ['constructor.prototype inside a record', '/v1/datasets', { type: 'application/json', body: '{"records":[{"a":{"constructor":{"prototype":{"polluted":1}}}}]}' }, 'records.0.a.constructor'],
  ['an escaped \\u005f_proto__ key', '/v1/enrich', { type: 'application/json', body: '{"records":[{"\\u005f_proto__":{"polluted":1}}]}' }, 'records.0.__proto__'],
  ['__proto__ in a JSONL record', '/v1/datasets', jsonl('{"__proto__":{"polluted":1}}\n'), 'line.1.__proto__'],
  ['__proto__ in a YAML config', '/v1/pipelines', yaml('__proto__:\n  polluted: 1\n'), '__proto__'],
];

const nested = (levels: number): unknown => Array.from({ length: levels }).reduce<unknown>((inner) => [inner], 'leaf');

describe.each(DATABASES)('what Postgres cannot store or JavaScript should not parse is refused at the edge (%s)', (db) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ db });
  });
  afterAll(() => h?.close());

  it.each(STRING_CASES)('%s → 400 naming the field, nothing written', async (_label, method, url, body, field) => {
    const req = request(h.url)[method](url);
    const res = await (body ? req.set('content-type', body.type).send(body.body) : req);
    expectError(res, 400, 'validation_failed', field);
    expect(res.body.error.message).toMatch(/NUL|surrogate|UTF-8/);
    expect(await storedCounts(h)).toEqual({ runs: 0, tasks: 0, datasets: 0, records: 0, topics: 0 });
  });

  it.each(PROTO_CASES)('%s → 400 saying which key is refused', async (_label, url, body, field) => {
    const res = await request(h.url).post(url).set('content-type', body!.type).send(body!.body);
    expectError(res, 400, 'validation_failed', field);
    expect(res.body.error.message).toMatch(/the key (__proto__|constructor) is not allowed/);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(await storedCounts(h)).toEqual({ runs: 0, tasks: 0, datasets: 0, records: 0, topics: 0 });
  });

  it('a record nested deeper than 100 levels is refused naming it, even 100,000 deep', async () => {
    expectError(await request(h.url).post('/v1/datasets').send([{ a: nested(99) }]), 400, 'validation_failed');
    const deep = await request(h.url).post('/v1/datasets').set('content-type', 'application/json').send(`[{"a":${'['.repeat(100_000)}${']'.repeat(100_000)}}]`);
    expectError(deep, 400, 'validation_failed');
    expect(deep.body.error.details[0].field).toMatch(/^0\.a(\.0)+$/);
    expect(deep.body.error.message).toContain('nests deeper than 100 levels');
    const jsonlDeep = await request(h.url).post('/v1/datasets').set('content-type', 'application/x-ndjson').send(`{"a":${'['.repeat(5000)}${']'.repeat(5000)}}\n`);
    expectError(jsonlDeep, 400, 'validation_failed');
    expect(jsonlDeep.body.error.details[0].field).toMatch(/^line\.1\.a/);
    expect(await storedCounts(h)).toEqual({ runs: 0, tasks: 0, datasets: 0, records: 0, topics: 0 });
  });

  it('broken cursors and ids are 400s naming them, never 500', async () => {
    const { body } = await request(h.url).post('/v1/datasets').send([{ q: 'a' }]).expect(201);
    const ds = body.dataset.id;
    const run = 'run_0123456789abcdef01234567';
    const cases: Array<[string, string, Record<string, string>?]> = [
      [`/v1/datasets/${ds}/records?cursor=9223372036854775808`, 'cursor'],
      [`/v1/datasets/${ds}/records?cursor=1e3`, 'cursor'],
      [`/v1/datasets/${ds}/records?cursor=-1`, 'cursor'],
      [`/v1/datasets/${ds}/records?limit=9223372036854775808`, 'limit'],
      ['/v1/runs?before=9223372036854775808', 'before'],
      ['/v1/datasets?before=ds_x', 'before'],
      ['/v1/topics?before=%00', 'before'],
      [`/v1/runs/${run}/events?after=9223372036854775808`, 'after'],
      [`/v1/runs/${run}/events?after=2147483648`, 'after'],
      [`/v1/runs/${run}/events`, 'last-event-id', { 'last-event-id': '99999999999' }],
      [`/v1/runs/${run}/events`, 'last-event-id', { 'last-event-id': '2147483648' }],
    ];
    for (const [url, field, headers] of cases) expectError(await request(h.url).get(url).set(headers ?? {}), 400, 'validation_failed', field);
    // The largest cursor accepted is an empty page, not an error.
    expect((await request(h.url).get(`/v1/datasets/${ds}/records?cursor=999999999999999`).expect(200)).body).toEqual({ records: [], next_cursor: null });
    await request(h.url).delete(`/v1/datasets/${ds}`).expect(204);
  });
});

describe.each(DATABASES)('encodings and media types (%s)', (db) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ db });
  });
  afterAll(() => h?.close());

  it('a JSONL import with a UTF-8 BOM is accepted, like JSON with one', async () => {
    const fromJsonl = await request(h.url).post('/v1/datasets?name=bom').set('content-type', 'application/x-ndjson').send('\ufeff{"q":"a"}\n{"q":"b"}\n').expect(201);
    const records = await request(h.url).get(`/v1/datasets/${fromJsonl.body.dataset.id}/records`).expect(200);
    expect(records.body.records.map((r: { data: unknown }) => r.data)).toEqual([{ q: 'a' }, { q: 'b' }]);
    await request(h.url).post('/v1/datasets').set('content-type', 'application/json').send('\ufeff[{"q":"a"}]').expect(201);
  });

  it('what is storable is kept: surrogate pairs, a "prototype" key, a literal % in a query, 100 levels of nesting', async () => {
    const record = { q: 'emoji 😀 and 𝄞', prototype: { x: 1 }, deep: nested(97) };
    const res = await request(h.url).post('/v1/datasets?name=50%').send([record]).expect(201);
    expect(res.body.dataset.name).toBe('50%');
    const page = await request(h.url).get(`/v1/datasets/${res.body.dataset.id}/records`).expect(200);
    expect(page.body.records[0].data).toEqual(record);
    await request(h.url).get(`/v1/datasets/${res.body.dataset.id}/export?format=jsonl`).expect(200);
  });

  it('YAML is accepted by /v1/pipelines only: elsewhere 415', async () => {
    for (const url of ['/v1/datasets', '/v1/topics/import', '/v1/generate']) {
      expectError(await request(h.url).post(url).set('content-type', 'application/yaml').send('- q: a\n'), 415, 'unsupported_media_type', 'body');
    }
    // Reaches the DeepFabric translation (which names what is wrong), so the parser is there.
    expectError(await request(h.url).post('/v1/pipelines').set('content-type', 'application/yaml').send('foo: 1\n'), 400, 'validation_failed', 'body');
  });
});

describe('errors raised before a route come in the error shape (pglite)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ db: 'pglite' });
  });
  afterAll(() => h?.close());

  it('a path that is not UTF-8 is a 400 naming the url', async () => {
    expectError(await rawHttp(h, 'GET /v1/runs/%E0%A4%A HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'), 400, 'bad_request', 'url');
    expectError(await rawHttp(h, 'GET /v1/datasets/%FF HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'), 400, 'bad_request', 'url');
  });

  it('a path parameter over 100 characters or a target over 8192 bytes is a 414', async () => {
    expectError(await request(h.url).get(`/v1/runs/${'a'.repeat(101)}`), 414, 'uri_too_long', 'url');
    expectError(await request(h.url).get(`/v1/runs?kind=${'a'.repeat(8200)}`), 414, 'uri_too_long', 'url');
    // Past Node's 16 KiB limit the parser refuses it before Fastify; still 414 in the error shape.
    expectError(await rawHttp(h, `GET /v1/runs?kind=${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`), 414, 'uri_too_long', 'url');
  });

  it('headers over 16 KiB are a 431', async () => {
    expectError(await rawHttp(h, `GET /v1/runs HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`), 431, 'headers_too_large', 'headers');
  });

  it('an unknown method or a NUL in a header is a 400 from the HTTP parser, in the error shape', async () => {
    expectError(await rawHttp(h, 'BREW /v1/runs HTTP/1.1\r\nHost: x\r\n\r\n'), 400, 'bad_request', 'method');
    expectError(await rawHttp(h, Buffer.from('POST /v1/generate HTTP/1.1\r\nHost: x\r\nIdempotency-Key: a\0b\r\nContent-Length: 2\r\n\r\n{}')), 400, 'bad_request', 'request');
    expect(await storedCounts(h)).toEqual({ runs: 0, tasks: 0, datasets: 0, records: 0, topics: 0 });
  });

  it('a header Quarry reads with a string it cannot store is refused naming it (reachable in-process only)', async () => {
    const res = await h.quarry.app!.inject({ method: 'POST', url: '/v1/generate', headers: { 'idempotency-key': 'k\ud800' }, payload: { documents: [doc] } });
    expectError({ status: res.statusCode, body: res.json() }, 400, 'validation_failed', 'idempotency-key');
  });

  it('the service still answers', async () => {
    await request(h.url).get('/healthz').expect(200);
  });
});
