import { sql } from 'drizzle-orm';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rows } from '../db/client.js';
import { DATABASES } from './support/databases.js';
import { markdownDoc, startHarness, type Harness } from './support/harness.js';

/**
 * Records are written with the export contracts that refuse them (records.unrenderable), and an
 * export of such a dataset decides from those tags, without reading its records first.
 */
describe.each(DATABASES)('export decides from the formats each record was written with (%s)', (db) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ db });
  });
  afterAll(() => h?.close());

  const tags = async (datasetId: string) =>
    Object.fromEntries(
      (await rows<{ key: string; unrenderable: string | null }>(h.quarry.database.db, sql`select key, unrenderable from records where dataset_id = ${datasetId}`)).map((r) => [r.key, r.unrenderable]),
    );
  const exportOf = (id: string, format: string) => request(h.url).get(`/v1/datasets/${id}/export?format=${format}`);

  it('an import tags each record, and the 422 names exactly the refused ones', async () => {
    const toolCall = { messages: [{ role: 'user', content: 'weather?' }, { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'weather', arguments: '{}' } }] }, { role: 'tool', tool_call_id: 'c1', content: 'sunny' }, { role: 'assistant', content: 'Sunny.' }] };
    const body = [{ question: 'q', answer: 'a' }, { instruction: 'do', output: 'done' }, toolCall, { foo: 1 }].map((r) => JSON.stringify(r)).join('\n');
    const id = (await request(h.url).post('/v1/datasets?name=mixed').set('content-type', 'application/x-ndjson').send(body).expect(201)).body.dataset.id;
    expect(await tags(id)).toEqual({ 'import#0': null, 'import#1': 'fairforge', 'import#2': 'alpaca,fairforge', 'import#3': 'chat,alpaca,fairforge,function_calling' });
    const chat = await exportOf(id, 'chatml').expect(422);
    expect(chat.body.error.message).toMatch(/^1 record cannot be rendered as chatml/);
    expect(chat.body.error.details.map((d: { field: string }) => d.field)).toEqual(['format', 'records.import#3']);
    const alpaca = await exportOf(id, 'alpaca').expect(422);
    expect(alpaca.body.error.details.map((d: { field: string }) => d.field)).toEqual(['format', 'records.import#2', 'records.import#3']);
    await exportOf(id, 'jsonl').expect(200);
  });

  it('a run’s records are tagged too, and its dataset exports without a pass over them', async () => {
    const run = (await request(h.url).post('/v1/generate').set('Prefer', 'wait=30').send({ documents: [markdownDoc('tags.md', 3)], n_pairs: 1 }).expect(200)).body.run;
    const datasetId = run.output.dataset_id;
    expect(Object.values(await tags(datasetId)).every((t) => t === null)).toBe(true);
    expect((await exportOf(datasetId, 'chatml').expect(200)).text.trim().split('\n')).toHaveLength(run.progress.records);
    // Records never change once written; one changed behind the service's back shows what the
    // check trusts: the tags. It passes, and the renderer finds the record on the first page: still
    // a 422 naming it, since nothing was sent yet.
    const [{ key }] = await rows<{ key: string }>(h.quarry.database.db, sql`select key from records where dataset_id = ${datasetId} order by id desc limit 1`);
    await h.quarry.database.db.execute(sql`update records set data = '{"foo":1}' where dataset_id = ${datasetId} and key = ${key}`);
    const late = await exportOf(datasetId, 'chatml').expect(422);
    expect(late.body.error.details[0].field).toBe(`records.${key}`);
    // A dataset written before records were tagged is read whole first, as before: a 422, nothing streamed.
    await h.quarry.database.db.execute(sql`update datasets set tagged = false where id = ${datasetId}`);
    const checked = await exportOf(datasetId, 'chatml').expect(422);
    expect(checked.body.error.details[0]).toMatchObject({ field: 'format' });
  });

  it('the function-calling formats decide from tags on datasets tagged for them, and read older datasets whole', async () => {
    // Chat renders any role; OpenAI's and TRL's formats take system/user/assistant/tool only.
    const oddRole = { messages: [{ role: 'user', content: 'q' }, { role: 'function', content: 'x' }, { role: 'assistant', content: 'a' }] };
    const body = [{ question: 'q', answer: 'a' }, oddRole, { question: 'q2', answer: 'a2' }].map((r) => JSON.stringify(r)).join('\n');
    const id = (await request(h.url).post('/v1/datasets?name=roles').set('content-type', 'application/x-ndjson').send(body).expect(201)).body.dataset.id;
    expect(await tags(id)).toEqual({ 'import#0': null, 'import#1': 'function_calling', 'import#2': null });
    for (const format of ['openai', 'trl']) {
      const refused = await exportOf(id, format).expect(422);
      expect(refused.body.error.details.map((d: { field: string }) => d.field)).toEqual(['format', 'records.import#1.messages.1.role']);
    }
    await exportOf(id, 'chatml').expect(200);
    // Tags are trusted: a record changed behind the service's back is found by the renderer, not a pass first.
    await h.quarry.database.db.execute(sql`update records set data = '{"foo":1}' where dataset_id = ${id} and key = 'import#0'`);
    await h.quarry.database.db.execute(sql`update records set data = '{"question":"q","answer":"a"}', unrenderable = null where dataset_id = ${id} and key = 'import#1'`);
    expect((await exportOf(id, 'openai').expect(422)).body.error.details[0].field).toBe('records.import#0');
    // Made before the function-calling formats were tagged (tag version 1): read whole first for them.
    await h.quarry.database.db.execute(sql`update datasets set tag_version = 1 where id = ${id}`);
    expect((await exportOf(id, 'openai').expect(422)).body.error.details[0]).toMatchObject({ field: 'format' });
  });
});
