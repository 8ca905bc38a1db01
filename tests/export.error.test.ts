import { sql } from 'drizzle-orm';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from './support/databases.js';
import { startHarness, type Harness } from './support/harness.js';
import { captureLog } from './support/log-capture.js';

/** 600 renderable pairs, then the bad record: it sits on the second page of the stream, as in the report (500 of 601 lines). */
const GOOD = Array.from({ length: 600 }, (_, i) => ({ question: `Question ${i}?`, answer: `Answer ${i}.` }));

describe.each(DATABASES)('export: a record that cannot be rendered is known before the first byte (%s)', (db) => {
  let h: Harness;
  const logs = captureLog();
  beforeAll(async () => {
    h = await startHarness({ db, log: logs.log, env: { WORKER_CONCURRENCY: '0' } });
  });
  afterAll(() => h?.close());

  const importRecords = async (records: unknown[]) => (await request(h.url).post('/v1/datasets').send(records).expect(201)).body.dataset.id as string;

  it.each([
    ['chatml', { question: 5, answer: 'a' }, 'question'],
    ['chatml', { question: 'q', answer: null }, 'answer'],
    ['messages', { question: 'q', answer: 'a', reasoning: [1, 2] }, 'reasoning'],
    ['chatml', { messages: 'hi' }, 'messages'],
    ['chatml', { messages: [null] }, 'messages.0'],
    ['chatml', { messages: [{ role: 'user', content: { text: 'hi' } }] }, 'messages.0.content'],
    ['alpaca', { messages: [{ role: 'user' }] }, 'messages.0.content'],
    ['sharegpt', { conversations: [null] }, 'conversations.0'],
    ['sharegpt', { conversations: [{ from: 'human', value: 7 }] }, 'conversations.0.value'],
    ['alpaca', { instruction: { text: 'do it' }, output: 'done' }, 'instruction'],
    ['alpaca', { instruction: 'do it', output: 'done', input: ['x'] }, 'input'],
    ['chatml', { messages: 5, question: 'q', answer: 'a' }, 'messages'],
    ['fairforge', { turns: [null] }, 'turns.0'],
    ['fairforge', { turns: [{ qa_id: 'c_t1', query: 3 }] }, 'turns.0.query'],
    ['fairforge', { question: 'q', answer: 5 }, 'answer'],
    ['fairforge', { messages: {} }, 'messages'],
    ['fairforge', { question: 'q', chunk_id: { id: 1 } }, 'chunk_id'],
  ])('%s of %j: 422 naming records.import#600.%s, nothing streamed', async (format, bad, field) => {
    const id = await importRecords([...GOOD, bad]);
    const res = await request(h.url).get(`/v1/datasets/${id}/export?format=${format}`);
    expect(res.status, res.text.slice(0, 300)).toBe(422);
    expect(res.headers['content-type']).toContain('application/json');
    expect(res.body.error.code).toBe('unprocessable');
    expect(res.body.error.message).toMatch(/^1 record cannot be rendered as /);
    expect(res.body.error.details.map((d: { field: string }) => d.field)).toEqual(['format', `records.import#600.${field}`]);
    // The same records still export verbatim as jsonl.
    const jsonl = await request(h.url).get(`/v1/datasets/${id}/export?format=jsonl`).expect(200);
    expect(jsonl.text.split('\n').filter(Boolean)).toHaveLength(601);
  });

  it('names a record with no shape at all, counts every failure and lists the first ten', async () => {
    const bad = Array.from({ length: 12 }, (_, i) => ({ note: `no shape ${i}` }));
    const id = await importRecords([...GOOD.slice(0, 3), ...bad]);
    const res = await request(h.url).get(`/v1/datasets/${id}/export?format=chatml`).expect(422);
    expect(res.body.error.message).toMatch(/^12 records cannot be rendered as chatml: records\.import#3 has none of/);
    const fields = res.body.error.details.map((d: { field: string }) => d.field);
    expect(fields).toHaveLength(11);
    expect(fields.slice(1)).toEqual(Array.from({ length: 10 }, (_, i) => `records.import#${i + 3}`));
  });

  it('renders every record of each valid shape in every format', async () => {
    const shapes = [
      { messages: [{ role: 'user', content: 'u' }, { role: 'assistant', content: 'a' }] },
      { question: 'q', answer: 'a', reasoning: ['s1', 's2'] },
      { question: 'q', answer: 'a', reasoning: null },
      { instruction: 'i', output: 'o', input: null, system: 's' },
      { conversations: [{ from: 'human', value: 'h' }, { from: 'gpt', value: 'g' }] },
    ];
    const id = await importRecords(shapes);
    for (const format of ['chatml', 'messages', 'alpaca', 'sharegpt']) {
      const res = await request(h.url).get(`/v1/datasets/${id}/export?format=${format}`).expect(200);
      expect(res.text.split('\n').filter(Boolean), format).toHaveLength(5);
    }
    const turns = await importRecords([{ turns: [{ qa_id: 'c_t1', query: 'q1', answer: 'a1' }, { qa_id: 'c_t2', query: 'q2' }], chunk_id: 'c' }, { question: 'q', chunk_id: 7 }]);
    const fairforge = JSON.parse((await request(h.url).get(`/v1/datasets/${turns}/export?format=fairforge`).expect(200)).text);
    // One Fair-Forge dataset for the whole dataset, as Fair-Forge makes one per chunk group.
    expect(fairforge.map((d: any) => d.conversation.map((b: any) => b.qa_id))).toEqual([['c_t1', 'c_t2', '7_q1']]);
  });

  it('closes the connection and logs when a record fails after the first byte', async () => {
    const records = Array.from({ length: 1500 }, (_, i) => ({ question: `Question ${i}?`, answer: `Answer ${i}.` }));
    const id = await importRecords(records);
    await request(h.url).get(`/v1/datasets/${id}/export?format=chatml`).expect(200);
    // A record the check never saw (written behind its back, without the record count moving):
    // the stream has already started when the renderer meets it.
    await h.quarry.database.db.execute(sql`insert into records (dataset_id, key, data) values (${id}, 'late#1', ${JSON.stringify({ question: 5, answer: 'a' })}::json)`);
    logs.clear();
    const res = await fetch(`${h.url}/v1/datasets/${id}/export?format=chatml`);
    expect(res.status).toBe(200);
    // The body never ends cleanly: no terminating chunk, so the client sees a broken transfer.
    await expect(res.text()).rejects.toThrow();
    await expect.poll(() => logs.entries().find((e) => e.msg?.startsWith('export failed after the first byte'))).toMatchObject({
      level: 50,
      datasetId: id,
      format: 'chatml',
      recordKey: 'late#1',
      err: { type: 'UnrenderableRecord', message: 'question: expected string' },
    });
  });
});
