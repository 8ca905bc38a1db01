import { sql } from 'drizzle-orm';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rows } from '../db/client.js';
import { DATABASES } from './support/databases.js';
import { markdownDoc, startHarness, type Harness } from './support/harness.js';

/** Asserts the error contract: status, code, a message, and (when given) the field named in details. */
function expectError(res: request.Response, status: number, code: string, field?: string) {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.body?.error?.code, JSON.stringify(res.body)).toBe(code);
  expect(typeof res.body.error.message).toBe('string');
  expect(Array.isArray(res.body.error.details)).toBe(true);
  if (field !== undefined) expect(res.body.error.details.map((d: { field?: string }) => d.field), JSON.stringify(res.body)).toContain(field);
}

const doc = markdownDoc('guide.md', 2);
const spec = (extra: Record<string, unknown>) => ({ documents: [doc], ...extra });
const withDoc = (d: unknown) => ({ documents: [d] });

// [label, body, field named in details]
const BODY_CASES: Array<[string, unknown, string]> = [
  ['task is not qa', spec({ task: 'summarize' }), 'task'],
  ['task is a number', spec({ task: 1 }), 'task'],
  ['documents missing', {}, 'documents'],
  ['documents not an array', { documents: 'guide.md' }, 'documents'],
  ['documents an object', { documents: doc }, 'documents'],
  ['documents empty', { documents: [] }, 'documents'],
  ['document not an object', withDoc('# Title\n\ntext'), 'documents.0'],
  ['document null', withDoc(null), 'documents.0'],
  ['document name missing', withDoc({ text: doc.text }), 'documents.0.name'],
  ['document name empty', withDoc({ name: '', text: doc.text }), 'documents.0.name'],
  ['document name too long', withDoc({ name: 'x'.repeat(257), text: doc.text }), 'documents.0.name'],
  ['document name not a string', withDoc({ name: 7, text: doc.text }), 'documents.0.name'],
  ['document text missing', withDoc({ name: 'a.md' }), 'documents.0.text'],
  ['document text empty', withDoc({ name: 'a.md', text: '' }), 'documents.0.text'],
  ['document text whitespace only', withDoc({ name: 'a.md', text: '  \n\t \n' }), 'documents.0.text'],
  ['document text not a string', withDoc({ name: 'a.md', text: 42 }), 'documents.0.text'],
  ['second document text whitespace only', { documents: [doc, { name: 'b.md', text: '   ' }] }, 'documents.1.text'],
  ['unknown field inside a document', withDoc({ ...doc, path: '/tmp/guide.md' }), 'documents.0.path'],
  ['n_pairs 0', spec({ n_pairs: 0 }), 'n_pairs'],
  ['n_pairs 51', spec({ n_pairs: 51 }), 'n_pairs'],
  ['n_pairs 2.5', spec({ n_pairs: 2.5 }), 'n_pairs'],
  ['n_pairs "3" (not coerced)', spec({ n_pairs: '3' }), 'n_pairs'],
  ['n_pairs negative', spec({ n_pairs: -2 }), 'n_pairs'],
  ['target_pairs 0', spec({ target_pairs: 0 }), 'target_pairs'],
  ['target_pairs 1.5', spec({ target_pairs: 1.5 }), 'target_pairs'],
  ['target_pairs "10"', spec({ target_pairs: '10' }), 'target_pairs'],
  ['target_pairs too large', spec({ target_pairs: 1_000_001 }), 'target_pairs'],
  ['n_pairs and target_pairs together', spec({ n_pairs: 2, target_pairs: 10 }), 'target_pairs'],
  ['max_chunks 0', spec({ max_chunks: 0 }), 'max_chunks'],
  ['max_chunks "all"', spec({ max_chunks: 'all' }), 'max_chunks'],
  ['min_chunk_size "200"', spec({ min_chunk_size: '200' }), 'min_chunk_size'],
  ['min_chunk_size 0', spec({ min_chunk_size: 0 }), 'min_chunk_size'],
  ['max_chunk_size 1.5', spec({ max_chunk_size: 1.5 }), 'max_chunk_size'],
  ['max_chunk_size true', spec({ max_chunk_size: true }), 'max_chunk_size'],
  ['overlap -1', spec({ overlap: -1 }), 'overlap'],
  ['overlap "10"', spec({ overlap: '10' }), 'overlap'],
  ['max_chunk_size equal to min_chunk_size', spec({ min_chunk_size: 500, max_chunk_size: 500 }), 'max_chunk_size'],
  ['max_chunk_size below min_chunk_size', spec({ min_chunk_size: 500, max_chunk_size: 400 }), 'max_chunk_size'],
  ['max_chunk_size below the default min_chunk_size', spec({ max_chunk_size: 150 }), 'max_chunk_size'],
  ['overlap equal to min_chunk_size', spec({ min_chunk_size: 100, overlap: 100 }), 'overlap'],
  ['overlap above min_chunk_size', spec({ min_chunk_size: 100, max_chunk_size: 1000, overlap: 300 }), 'overlap'],
  ['system_prompt too long', spec({ system_prompt: 'x'.repeat(20_001) }), 'system_prompt'],
  ['system_prompt not a string', spec({ system_prompt: 5 }), 'system_prompt'],
  ['dataset_name empty', spec({ dataset_name: '' }), 'dataset_name'],
  ['dataset_name too long', spec({ dataset_name: 'n'.repeat(201) }), 'dataset_name'],
  ['max_attempts 0', spec({ max_attempts: 0 }), 'max_attempts'],
  ['max_attempts 11', spec({ max_attempts: 11 }), 'max_attempts'],
  ['max_attempts 1.5', spec({ max_attempts: 1.5 }), 'max_attempts'],
  ['llm not an object', spec({ llm: 'openai' }), 'llm'],
  ['llm an array', spec({ llm: [] }), 'llm'],
  ['llm unknown provider', spec({ llm: { provider: 'nope' } }), 'llm.provider'],
  ['llm provider empty', spec({ llm: { provider: '' } }), 'llm.provider'],
  ['llm model empty', spec({ llm: { model: '' } }), 'llm.model'],
  ['llm temperature 3', spec({ llm: { temperature: 3 } }), 'llm.temperature'],
  ['llm temperature negative', spec({ llm: { temperature: -0.1 } }), 'llm.temperature'],
  ['llm temperature "0.5"', spec({ llm: { temperature: '0.5' } }), 'llm.temperature'],
  ['llm max_tokens 0', spec({ llm: { max_tokens: 0 } }), 'llm.max_tokens'],
  ['llm max_tokens too large', spec({ llm: { max_tokens: 200_001 } }), 'llm.max_tokens'],
  ['llm unknown key', spec({ llm: { top_p: 0.9 } }), 'llm.top_p'],
  ['unknown top-level field', spec({ n_pair: 3 }), 'n_pair'],
  ['body is an array', [spec({})], 'body'],
  ['body is a JSON string', 'documents', 'body'],
];

// [label, status, code, field, set up the request]
type Raw = (r: request.Test) => request.Test;
const valid = spec({ n_pairs: 1 });
const RAW_CASES: Array<[string, number, string, string, Raw]> = [
  ['malformed JSON', 400, 'bad_request', 'body', (r) => r.set('content-type', 'application/json').send('{"documents": [{"name": "a.md",')],
  ['empty JSON body', 400, 'bad_request', 'body', (r) => r.set('content-type', 'application/json').send('')],
  ['no body at all', 400, 'validation_failed', 'body', (r) => r],
  ['text/plain body', 415, 'unsupported_media_type', 'body', (r) => r.set('content-type', 'text/plain').send(JSON.stringify(valid))],
  ['application/xml body', 415, 'unsupported_media_type', 'body', (r) => r.set('content-type', 'application/xml').send('<documents/>')],
  ['Prefer: wait=soon', 400, 'validation_failed', 'prefer', (r) => r.set('Prefer', 'wait=soon').send(valid)],
  ['Prefer: wait=-1', 400, 'validation_failed', 'prefer', (r) => r.set('Prefer', 'wait=-1').send(valid)],
  ['empty Idempotency-Key', 400, 'validation_failed', 'idempotency-key', (r) => r.set('Idempotency-Key', '').send(valid)],
  ['Idempotency-Key too long', 400, 'validation_failed', 'idempotency-key', (r) => r.set('Idempotency-Key', 'k'.repeat(256)).send(valid)],
];

async function count(h: Harness, table: 'tasks' | 'runs' | 'datasets' | 'records' | 'run_events'): Promise<number> {
  const [row] = await rows<{ n: number }>(h.quarry.database.db, sql`select count(*)::int as n from ${sql.identifier(table)}`);
  return row.n;
}

async function expectNothingWritten(h: Harness) {
  expect((await request(h.url).get('/v1/runs').expect(200)).body).toEqual({ runs: [], next_before: null });
  expect((await request(h.url).get('/v1/datasets').expect(200)).body).toEqual({ datasets: [], next_before: null });
  for (const table of ['tasks', 'runs', 'datasets', 'records', 'run_events'] as const) expect(await count(h, table), table).toBe(0);
  expect(h.fake.stats().requests).toBe(0);
}

describe.each(DATABASES)('POST /v1/generate rejects bad input and writes nothing (%s)', (db) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ db });
  });
  afterAll(() => h?.close());

  it.each(BODY_CASES)('%s → 400 naming the field', async (_label, body, field) => {
    const res = await request(h.url).post('/v1/generate').set('content-type', 'application/json').send(JSON.stringify(body));
    expectError(res, 400, 'validation_failed', field);
  });

  it('says "is not a known field" for unknown fields, at the top level and nested', async () => {
    for (const [body, field] of [[spec({ n_pair: 3 }), 'n_pair'], [spec({ llm: { top_p: 1 } }), 'llm.top_p'], [withDoc({ ...doc, path: 'x' }), 'documents.0.path']] as const) {
      const res = await request(h.url).post('/v1/generate').send(body);
      expect(res.body.error.details).toContainEqual(expect.objectContaining({ field, message: 'is not a known field' }));
    }
  });

  it('reports every problem of one request, not just the first', async () => {
    const res = await request(h.url).post('/v1/generate').send({ documents: [{ name: '', text: 1 }], n_pairs: 0, llm: { temperature: 9 } });
    expectError(res, 400, 'validation_failed');
    const fields = res.body.error.details.map((d: { field: string }) => d.field);
    expect(fields).toEqual(expect.arrayContaining(['documents.0.name', 'documents.0.text', 'n_pairs', 'llm.temperature']));
  });

  it.each(RAW_CASES)('%s → %i %s naming %s', async (_label, status, code, field, build) => {
    expectError(await build(request(h.url).post('/v1/generate')), status, code, field);
  });

  it('queued, wrote and called nothing for any of the bad requests', async () => {
    await expectNothingWritten(h);
  });

  it('(control) a valid request does queue tasks, so the check above is not vacuous', async () => {
    const res = await request(h.url).post('/v1/generate').set('Prefer', 'wait=20').send(valid);
    expect(res.status).toBe(200);
    expect(await count(h, 'tasks')).toBe(2);
    expect((await request(h.url).get('/v1/runs').expect(200)).body.runs).toHaveLength(1);
  });
});

describe('oversized bodies (BODY_LIMIT_BYTES=2048, IMPORT_MAX_BYTES=2048)', () => {
  let h: Harness;
  beforeAll(async () => {
    // An import streams and has a bound of its own (IMPORT_MAX_BYTES); both are set low here.
    h = await startHarness({ db: 'pglite', env: { BODY_LIMIT_BYTES: '2048', IMPORT_MAX_BYTES: '2048' } });
  });
  afterAll(() => h?.close());

  it('answers 413 payload_too_large for a generate body over the limit, and writes nothing', async () => {
    const res = await request(h.url).post('/v1/generate').send({ documents: [markdownDoc('big.md', 10, 60)] });
    expectError(res, 413, 'payload_too_large', 'body');
    const jsonl = await request(h.url).post('/v1/datasets?name=big').set('content-type', 'application/x-ndjson').send(`${JSON.stringify({ text: 'x'.repeat(3000) })}\n`);
    expectError(jsonl, 413, 'payload_too_large', 'body');
    await expectNothingWritten(h);
  });

  it('still accepts a body under the limit', async () => {
    await request(h.url).post('/v1/generate').send({ documents: [markdownDoc('small.md', 1, 10)], n_pairs: 1 }).expect(202);
  });
});

describe('bad and unknown ids, bad query parameters (pglite)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ db: 'pglite' });
  });
  afterAll(() => h?.close());

  const RUN = `run_${'0'.repeat(24)}`;
  const DS = `ds_${'a'.repeat(24)}`;
  type Method = 'get' | 'post' | 'delete';
  // [method, path with :id, a malformed id, a well-formed unknown id]
  const ROUTES: Array<[Method, string, string, string]> = [
    ['get', '/v1/runs/:id', 'not-an-id', RUN],
    ['post', '/v1/runs/:id/cancel', 'not-an-id', RUN],
    ['post', '/v1/runs/:id/retry', 'not-an-id', RUN],
    ['get', '/v1/runs/:id/events', 'not-an-id', RUN],
    ['get', '/v1/runs/:id', DS, RUN],
    ['get', '/v1/runs/:id', `run_${'A'.repeat(24)}`, RUN],
    ['get', '/v1/datasets/:id', 'not-an-id', DS],
    ['get', '/v1/datasets/:id/records', 'not-an-id', DS],
    ['get', '/v1/datasets/:id/export', 'not-an-id', DS],
    ['delete', '/v1/datasets/:id', 'not-an-id', DS],
    ['get', '/v1/datasets/:id', RUN, DS],
    ['get', '/v1/datasets/:id', `ds_${'a'.repeat(23)}`, DS],
  ];

  it.each(ROUTES)('%s %s with id %s → 400 field id', async (method, path, bad) => {
    expectError(await request(h.url)[method](path.replace(':id', bad)), 400, 'validation_failed', 'id');
  });

  it.each(ROUTES)('%s %s with an unknown well-formed id → 404', async (method, path, _bad, unknown) => {
    const res = await request(h.url)[method](path.replace(':id', unknown));
    expectError(res, 404, 'not_found', 'id');
    expect(res.body.error.message).toContain(unknown);
  });

  it.each([
    [`/v1/datasets/${DS}/export?format=xml`, 'format'],
    [`/v1/datasets/${DS}/export?format=`, 'format'],
    [`/v1/datasets/${DS}/records?limit=0`, 'limit'],
    [`/v1/datasets/${DS}/records?limit=1001`, 'limit'],
    [`/v1/datasets/${DS}/records?cursor=abc`, 'cursor'],
    ['/v1/datasets?limit=abc', 'limit'],
    ['/v1/datasets?before=yesterday', 'before'],
    ['/v1/runs?status=done', 'status'],
    ['/v1/runs?limit=201', 'limit'],
    ['/v1/runs?before=2024-13-45', 'before'],
    [`/v1/runs/${RUN}/events?after=-1`, 'after'],
  ])('GET %s → 400 naming %s', async (path, field) => {
    expectError(await request(h.url).get(path), 400, 'validation_failed', field);
  });

  it('answers 404 not_found in the error shape for unknown routes', async () => {
    expectError(await request(h.url).get('/v1/nope'), 404, 'not_found');
  });
});
