import { request as httpRequest } from 'node:http';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rows } from '../db/client.js';
import { ImportBody } from '../services/datasets/import-body.js';
import { AppError } from '../src/errors.js';
import { DATABASES } from './support/databases.js';
import { startHarness, storedCounts, type Harness } from './support/harness.js';

/**
 * POST /v1/datasets reads its body as a stream: records are checked as they arrive and written in
 * batches inside one transaction. Bodies here are sent in small pieces (a line cut across pieces,
 * a UTF-8 character too); a refused record past the first batches, a client that goes away
 * mid-body and the bounds (a lowered record cap, a lowered byte bound) must leave nothing behind.
 */

const CAP = 3000;
const MAX_BYTES = 4 * 1024 * 1024;
// Past one batch on either database (PGlite writes 250 rows a batch, Postgres 1,000), so a refusal here comes after writes.
const MANY = 2500;

const rec = (i: number) => ({ n: i, question: `Question ${i}: caf\u00e9 \u{1f600}?`, answer: `Answer ${i} with a "quote" and a \\ backslash.` });
const jsonl = (n: number, line = (i: number) => JSON.stringify(rec(i))) => Array.from({ length: n }, (_, i) => `${line(i)}\n`).join('');

/** `text` cut into pieces of 1 to 13 bytes, cycling: lines, escapes and multi-byte characters all land across pieces. */
function pieces(text: string | Buffer): Buffer[] {
  const bytes = Buffer.isBuffer(text) ? text : Buffer.from(text);
  const out: Buffer[] = [];
  for (let at = 0, k = 0; at < bytes.length; k++) {
    const size = 1 + (k % 13);
    out.push(bytes.subarray(at, at + size));
    at += size;
  }
  return out;
}

/** Coarser pieces for big bodies: still many writes, fewer than a byte at a time. */
function chunks(text: string, size = 4093): Buffer[] {
  const bytes = Buffer.from(text);
  return Array.from({ length: Math.ceil(bytes.length / size) }, (_, i) => bytes.subarray(i * size, (i + 1) * size));
}

interface Sent {
  status: number;
  body: any;
}

/**
 * Streams `parts` as a chunked request, each written and flushed before the next. `abortAfter`:
 * destroy the connection after that many parts, once `ready()` says the server is mid-import.
 */
function post(h: Harness, path: string, contentType: string, parts: Buffer[], options: { abortAfter?: number; ready?: () => Promise<void>; headers?: Record<string, string> } = {}): Promise<Sent> {
  const url = new URL(path, h.url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', headers: { 'content-type': contentType, ...options.headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined }));
      res.on('error', reject);
    });
    req.on('error', (err) => (options.abortAfter !== undefined ? resolve({ status: 0, body: undefined }) : reject(err)));
    void (async () => {
      for (const [i, part] of parts.entries()) {
        if (i === options.abortAfter) {
          await options.ready?.();
          req.destroy();
          return;
        }
        // A response may come before the whole body is sent (a refusal): stop writing then.
        if (req.destroyed || req.writableEnded) return;
        await new Promise<void>((done) => req.write(part, () => done()));
      }
      req.end();
    })();
  });
}

function expectError(res: Sent, status: number, code: string, field: string) {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.body.error.code).toBe(code);
  expect(res.body.error.details.map((d: { field?: string }) => d.field), JSON.stringify(res.body)).toContain(field);
}

describe('an import body read in pieces (no database)', () => {
  async function read(format: 'json' | 'jsonl', body: Buffer[], maxRecords = 100) {
    const sut = new ImportBody(format, { maxRecords, maxBytes: 1024 * 1024, maxRecordBytes: 64 * 1024 }, { rows: 3, bytes: 1024 });
    const batches: string[][] = [];
    const tags: Array<string | null> = [];
    async function* source() {
      yield* body;
    }
    for await (const batch of sut.read(source())) {
      batches.push(batch.texts);
      tags.push(...batch.unrenderable);
    }
    expect(tags).toHaveLength(batches.flat().length);
    return { batches, records: batches.flat().map((t) => JSON.parse(t)), name: sut.name };
  }
  const refusal = async (p: Promise<unknown>) => {
    const err = await p.then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    return err as AppError;
  };

  it('JSONL a byte at a time: CRLF, a BOM, blank lines, multi-byte characters, no final newline', async () => {
    const text = `\ufeff${JSON.stringify(rec(0))}\r\n\r\n  \n${JSON.stringify(rec(1))}\n${JSON.stringify(rec(2))}\r\n${JSON.stringify(rec(3))}`;
    const one = await read('jsonl', [...Buffer.from(text)].map((b) => Buffer.from([b])));
    expect(one.records).toEqual([rec(0), rec(1), rec(2), rec(3)]);
    expect(one.batches.map((b) => b.length)).toEqual([3, 1]);
    expect((await read('jsonl', pieces(text))).records).toEqual(one.records);
  });

  it('a JSON array and { records, name } (name after records) in pieces; the name is read', async () => {
    const records = [rec(0), rec(1), rec(2), rec(3), rec(4)];
    expect((await read('json', pieces(`\ufeff ${JSON.stringify(records)} \n`))).records).toEqual(records);
    const wrapped = await read('json', pieces(JSON.stringify({ records, name: 'named last' })));
    expect(wrapped).toMatchObject({ records, name: 'named last' });
    expect((await read('json', pieces(JSON.stringify({ name: 'named first', records })))).name).toBe('named first');
  });

  it('names what it refuses: line, record, key, the body', async () => {
    const cases: Array<['json' | 'jsonl', string, string]> = [
      ['jsonl', `${jsonl(4)}{"broken":\n`, 'line.5'],
      ['jsonl', `${jsonl(2)}\n[1]\n`, 'records.2'],
      ['jsonl', `${jsonl(1)}{"q":"a\\u0000"}\n`, 'line.2.q'],
      ['json', `[${JSON.stringify(rec(0))},"nope"]`, 'records.1'],
      ['json', `[${JSON.stringify(rec(0))},{"__proto__":{"x":1}}]`, '1.__proto__'],
      ['json', `{"records":[{"a":1},{"b":"\\ud800"}]}`, 'records.1.b'],
      ['json', `{"records":[{"a":1}],"tags":[]}`, 'tags'],
      ['json', `{"records":{"a":{}}}`, 'records'],
      ['json', `{"name":"x"}`, 'records'],
      ['json', `{"records":[{"a":1}]`, 'body'],
      ['json', `[{"a":1}] [{"b":2}]`, 'body'],
      ['json', `"just a string"`, 'body'],
    ];
    for (const [format, body, field] of cases) {
      const err = await refusal(read(format, pieces(body)));
      expect(err.details.map((d) => d.field), `${format} ${body.slice(0, 60)}`).toContain(field);
    }
  });

  it('refuses a record, a line or a top-level value over the record bound before reading it whole', async () => {
    const big = 'x'.repeat(70 * 1024);
    expect((await refusal(read('jsonl', chunks(`${jsonl(2)}{"q":"${big}"}\n`)))).details[0].field).toBe('line.3');
    expect((await refusal(read('json', chunks(`[{"a":1},{"q":"${big}"}]`)))).details[0].field).toBe('records.1');
    const envelope = await refusal(read('json', chunks(`{"note":"${big}","records":[{"a":1}]}`)));
    expect([envelope.status, envelope.details[0].field]).toEqual([413, 'body']);
  });

  it('refuses the record past the cap, naming the bound', async () => {
    const err = await refusal(read('jsonl', pieces(jsonl(11)), 10));
    expect([err.status, err.details[0].field]).toEqual([413, 'records']);
    expect(err.message).toContain('at most 10 records');
  });
});

describe.each(DATABASES)('POST /v1/datasets streams (%s)', (db) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ db, env: { IMPORT_MAX_RECORDS: String(CAP), IMPORT_MAX_BYTES: String(MAX_BYTES) } });
  });
  afterAll(() => h?.close());

  const listed = async () => ((await (await fetch(`${h.url}/v1/datasets?limit=200`)).json()) as { datasets: Array<{ id: string }> }).datasets.map((d) => d.id);
  const records = async (id: string) => {
    const all: Array<{ key: string; data: unknown }> = [];
    let cursor: string | null = null;
    do {
      const page = (await (await fetch(`${h.url}/v1/datasets/${id}/records?limit=1000${cursor ? `&cursor=${cursor}` : ''}`)).json()) as { records: typeof all; next_cursor: string | null };
      all.push(...page.records);
      cursor = page.next_cursor;
    } while (cursor);
    return all;
  };

  /** Nothing was left behind: the same datasets listed, and no dataset or record row more. */
  async function expectNothingLeft(before: { ids: string[]; counts: Record<string, number> }) {
    expect(await listed()).toEqual(before.ids);
    expect(await storedCounts(h)).toEqual(before.counts);
  }
  const snapshot = async () => ({ ids: await listed(), counts: await storedCounts(h) });

  it('imports JSONL sent in pieces of a few bytes, in order, with import#<i> keys', async () => {
    const text = `\ufeff${jsonl(40).replaceAll('\n', '\r\n')}\n\n`;
    const res = await post(h, '/v1/datasets?name=pieces', 'application/x-ndjson', pieces(text));
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.dataset).toMatchObject({ name: 'pieces', record_count: 40 });
    const stored = await records(res.body.dataset.id);
    expect(stored.map((r) => r.key)).toEqual(Array.from({ length: 40 }, (_, i) => `import#${i}`));
    expect(stored.map((r) => r.data)).toEqual(Array.from({ length: 40 }, (_, i) => rec(i)));
  });

  it('imports more records than a batch holds, as a JSON array and as { records, name }', async () => {
    const all = Array.from({ length: MANY }, (_, i) => rec(i));
    const array = await post(h, '/v1/datasets?name=array', 'application/json', chunks(JSON.stringify(all)));
    expect(array.status, JSON.stringify(array.body)).toBe(201);
    expect(array.body.dataset.record_count).toBe(MANY);
    expect((await records(array.body.dataset.id)).map((r) => r.data)).toEqual(all);
    const wrapped = await post(h, '/v1/datasets', 'application/json; charset=utf-8', chunks(JSON.stringify({ records: all.slice(0, 300), name: 'named after' })));
    expect(wrapped.status, JSON.stringify(wrapped.body)).toBe(201);
    expect(wrapped.body.dataset).toMatchObject({ name: 'named after', record_count: 300 });
  });

  it('takes application/jsonl and application/x-jsonlines too; text/plain is still a 415', async () => {
    for (const type of ['application/jsonl', 'application/x-jsonlines']) {
      const res = await post(h, `/v1/datasets?name=${type.split('/')[1]}`, type, pieces(jsonl(3)));
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body.dataset.record_count).toBe(3);
    }
    const before = await snapshot();
    expectError(await post(h, '/v1/datasets', 'text/plain', pieces(jsonl(3))), 415, 'unsupported_media_type', 'body');
    await expectNothingLeft(before);
  });

  it.each([
    ['JSONL', 'line.2001', 'application/x-ndjson', () => jsonl(MANY, (i) => (i === 2000 ? '{"broken": ' : JSON.stringify(rec(i))))],
    ['JSONL', 'records.2000', 'application/x-ndjson', () => jsonl(MANY, (i) => (i === 2000 ? '"not an object"' : JSON.stringify(rec(i))))],
    ['JSON array', '2000.q', 'application/json', () => JSON.stringify(Array.from({ length: MANY }, (_, i) => (i === 2000 ? { q: 'a\u0000' } : rec(i))))],
    ['{ records }', 'records.2000', 'application/json', () => JSON.stringify({ name: 'x', records: Array.from({ length: MANY }, (_, i) => (i === 2000 ? [] : rec(i))) })],
  ])('a bad record after the first batches (%s) leaves no dataset and no record → 400 naming %s', async (_label, field, type, body) => {
    const before = await snapshot();
    expectError(await post(h, '/v1/datasets?name=doomed', type, chunks(body())), 400, 'validation_failed', field);
    await expectNothingLeft(before);
  });

  it(`refuses record ${CAP + 1} (the lowered cap) with a 413 naming the bound, nothing left`, async () => {
    const before = await snapshot();
    const res = await post(h, '/v1/datasets', 'application/x-ndjson', chunks(jsonl(CAP + 1)));
    expectError(res, 413, 'payload_too_large', 'records');
    expect(res.body.error.message).toContain(`at most ${CAP.toLocaleString('en-US')} records`);
    await expectNothingLeft(before);
  });

  it('refuses a body over IMPORT_MAX_BYTES with a 413 naming it: as it streams, and at once from Content-Length', async () => {
    const before = await snapshot();
    const fat = (i: number) => JSON.stringify({ ...rec(i), pad: 'p'.repeat(5000) });
    const streamed = await post(h, '/v1/datasets', 'application/x-ndjson', chunks(jsonl(1000, fat), 64 * 1024));
    expectError(streamed, 413, 'payload_too_large', 'body');
    expect(streamed.body.error.message).toContain('4 MiB');
    // Declared too large: answered before the body is sent.
    const declared = await post(h, '/v1/datasets', 'application/x-ndjson', [Buffer.from(jsonl(1))], { headers: { 'content-length': String(MAX_BYTES + 1) } });
    expectError(declared, 413, 'payload_too_large', 'body');
    await expectNothingLeft(before);
  });

  it('refuses a line or a record over 1 MiB with a 400 naming it', async () => {
    const before = await snapshot();
    const big = (i: number) => (i === 1 ? JSON.stringify({ q: 'x'.repeat(1024 * 1024 + 1) }) : JSON.stringify(rec(i)));
    expectError(await post(h, '/v1/datasets', 'application/x-ndjson', chunks(jsonl(3, big), 64 * 1024)), 400, 'validation_failed', 'line.2');
    expectError(await post(h, '/v1/datasets', 'application/json', chunks(`[${[0, 1, 2].map(big).join(',')}]`, 64 * 1024)), 400, 'validation_failed', 'records.1');
    await expectNothingLeft(before);
  });

  it('a client that goes away mid-body leaves nothing behind, and the service carries on', async () => {
    const before = await snapshot();
    const parts = chunks(jsonl(MANY), 16 * 1024);
    // On Postgres, wait until the COPY of this import is running: the transaction is open and written to.
    const copying = async () => {
      if (db !== 'postgres') return;
      for (let i = 0; i < 500; i++) {
        const [{ n }] = await rows<{ n: number }>(h.quarry.database.db, sql`select count(*)::int as n from pg_stat_activity where datname = current_database() and query ilike 'copy records%' and state <> 'idle'`);
        if (n > 0) return;
        await new Promise((r) => setTimeout(r, 10));
      }
      throw new Error('the import never started copying');
    };
    await post(h, '/v1/datasets?name=abandoned', 'application/x-ndjson', parts, { abortAfter: Math.floor(parts.length * 0.8), ready: copying });
    // The service notices the closed connection and rolls back; then it serves and lists as before.
    await expect.poll(async () => storedCounts(h), { timeout: 10_000 }).toEqual(before.counts);
    await expectNothingLeft(before);
    const after = await post(h, '/v1/datasets?name=after', 'application/x-ndjson', pieces(jsonl(2)));
    expect(after.status).toBe(201);
  });
});
