import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shapeOf } from '../services/records/shape-of.js';
import { DATABASES } from './support/databases.js';
import { markdownDoc, startHarness, type Harness } from './support/harness.js';
import { chunkConversationRecord, cotRecord, HDF5_TOOLS, knowledgeRecord, qaRecord, toolConversation } from './support/record-samples.js';

type Rec = Record<string, unknown>;
const lines = (text: string) => text.split('\n').filter(Boolean).map((l) => JSON.parse(l));

describe('record shapes: every record a generator writes has the shape its readers take', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ db: 'pglite', fake: { latencyMs: 2 } });
  });
  afterAll(() => h?.close());

  const records = async (datasetId: string): Promise<Rec[]> => (await request(h.url).get(`/v1/datasets/${datasetId}/records?limit=1000`).expect(200)).body.records.map((r: { data: Rec }) => r.data);
  const run = async (path: string, body: Rec) => (await request(h.url).post(path).set('Prefer', 'wait=60').send(body).expect(200)).body.run;
  const shapes = async (datasetId: string) => [...new Set((await records(datasetId)).map(shapeOf))];

  it.each([
    [{ task: 'qa', n_pairs: 2 }, 'qa'],
    [{ task: 'cot', n_pairs: 1 }, 'cot'],
    [{ task: 'conversation', turns: 2 }, 'conversation'],
    [{ task: 'conversation', turns: 2, answers: false }, 'turns'],
  ])('generate from documents %j writes %s records', async (body, shape) => {
    const done = await run('/v1/generate', { documents: [markdownDoc('kb.md', 2)], ...body });
    expect(done.status).toBe('succeeded');
    expect(await shapes(done.output.dataset_id)).toEqual([shape]);
  });

  it.each([
    [{ task: 'qa' }, 'qa'],
    [{ task: 'cot' }, 'cot'],
    [{ task: 'conversation', turns: 2, conversation: { type: 'cot', reasoning_style: 'structured' }, system_prompt: 'You are a baker.', include_system_message: true }, 'conversation'],
  ])('generate from topics %j writes %s records', async (body, shape) => {
    const done = await run('/v1/generate', { topics: [['Cooking', 'Bread'], ['Cooking', 'Soup']], ...body });
    expect(done.status).toBe('succeeded');
    expect(await shapes(done.output.dataset_id)).toEqual([shape]);
  });

  it.each(['tree', 'graph'])('topics (%s) writes topic nodes', async (mode) => {
    const done = await run('/v1/topics', { prompt: 'Postgres', mode, degree: 2, depth: 2 });
    const topics = JSON.parse((await request(h.url).get(`/v1/topics/${done.output.topics_id}`).expect(200)).text).topics;
    expect(await shapes(topics.dataset_id)).toEqual(['topic_node']);
  });

  it('the knowledge flows write knowledge records, kept and rejected', async () => {
    const seed = { document: '# Leases\n\nA worker holds a lease on each task. Leases expire after thirty seconds and the tasks return to the queue.', domain: 'queues' };
    const done = await run('/v1/generate', { task: 'knowledge', seed_records: [seed], summaries_per_document: 1, questions_per_context: 2, facts_per_document: 1, pairs_per_fact: 2 });
    expect(done.status).toBe('succeeded');
    const datasets = [...Object.values(done.output.datasets as Record<string, string>), done.output.rejected_dataset_id];
    const found = new Set<unknown>();
    for (const id of datasets) for (const shape of await shapes(id)) found.add(shape);
    expect([...found]).toEqual(['knowledge']);
  });

  it('enrich and curate keep a pair a pair, and enrich cot makes it CoT', async () => {
    const pairs = Array.from({ length: 4 }, (_, i) => ({ ...qaRecord, question: `${qaRecord.question} (${i})` }));
    const rewritten = await run('/v1/enrich', { records: pairs });
    expect(await shapes(rewritten.output.dataset_id)).toEqual(['qa']);
    const reasoned = await run('/v1/enrich', { records: pairs, mode: 'cot' });
    expect(await shapes(reasoned.output.dataset_id)).toEqual(['cot']);
    const curated = await run('/v1/curate', { records: pairs, threshold: 6 });
    expect([...(await shapes(curated.output.dataset_id)), ...(await shapes(curated.output.rejected_dataset_id))].every((s) => s === 'qa')).toBe(true);
  });
});

describe.each(DATABASES)('record shapes through export, curate and enrich (%s)', (db) => {
  let h: Harness;
  let datasetId: string;
  beforeAll(async () => {
    h = await startHarness({ db, fake: { latencyMs: 2 } });
    datasetId = (await request(h.url).post('/v1/datasets').send([toolConversation(), knowledgeRecord, chunkConversationRecord]).expect(201)).body.dataset.id;
  });
  afterAll(() => h?.close());

  const exported = (id: string, format: string) => request(h.url).get(`/v1/datasets/${id}/export?format=${format}`);

  it('exports a tool-call conversation as messages with tool_calls and the tools offered, and a knowledge answer as a chat', async () => {
    const [tool, knowledge, conversation] = lines((await exported(datasetId, 'chatml').expect(200)).text);
    expect(tool).toEqual({ messages: toolConversation().messages, tools: HDF5_TOOLS });
    expect(tool.messages[2].tool_calls[0].function.name).toBe('open_file');
    expect(knowledge).toEqual({ messages: [{ role: 'user', content: knowledgeRecord.question }, { role: 'assistant', content: knowledgeRecord.response }] });
    expect(conversation).toEqual({ messages: chunkConversationRecord.messages });
    const [shareGpt] = lines((await exported(datasetId, 'sharegpt').expect(200)).text);
    expect(shareGpt.conversations.map((t: { from: string }) => t.from)).toEqual(['human', 'function_call', 'observation', 'function_call', 'observation', 'gpt']);
  });

  it('refuses alpaca for a tool-call conversation, naming the record, before the first byte', async () => {
    const res = await exported(datasetId, 'alpaca').expect(422);
    expect(res.body.error.message).toBe('1 record cannot be rendered as alpaca: records.import#0 is a tool-call conversation, which alpaca cannot hold; export it as chatml, messages or sharegpt');
    expect(res.body.error.details.map((d: { field: string }) => d.field)).toEqual(['format', 'records.import#0']);
  });

  it('names the turn of a tool-call conversation that does not fit', async () => {
    const broken = toolConversation();
    broken.messages[3] = { role: 'tool', tool_call_id: 'call_9', content: 'x' };
    const id = (await request(h.url).post('/v1/datasets').send([broken]).expect(201)).body.dataset.id;
    const res = await exported(id, 'messages').expect(422);
    expect(res.body.error.details[1]).toEqual({ field: 'records.import#0.messages.3.tool_call_id', message: 'answers no earlier tool call' });
  });

  it('curate judges a tool-call conversation with its calls in view', async () => {
    h.fake.reset();
    const done = (await request(h.url).post('/v1/curate').set('Prefer', 'wait=30').send({ records: [toolConversation(), cotRecord], threshold: 0 }).expect(200)).body.run;
    expect(done.status).toBe('succeeded');
    const prompt = (h.fake.requests().at(-1)!.body as { messages: Array<{ content: string }> }).messages.at(-1)!.content;
    expect(prompt).toContain('ASSISTANT: [calls open_file({"path":"/data/simulation.h5","mode":"r"})]\nTOOL: Opened /data/simulation.h5 in mode r');
  });

  it.each([
    ['/v1/curate', 'a knowledge answer', [qaRecord, knowledgeRecord], 'records.1', 'records need question and answer'],
    ['/v1/enrich', 'a tool-call conversation', [cotRecord, toolConversation()], 'records.1', 'question and answer'],
    ['/v1/enrich', 'a conversation that also has a question and answer', [{ ...qaRecord, messages: chunkConversationRecord.messages }], 'records.0', 'question and answer'],
  ])('%s takes only the shapes it reads: refuses %s at %s', async (path, _, records, field, text) => {
    const res = await request(h.url).post(path).send({ records }).expect(400);
    expect(res.body.error.details).toContainEqual({ field, message: expect.stringContaining(text) });
  });
});
