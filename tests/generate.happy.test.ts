import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from './support/databases.js';
import { markdownDoc, startHarness, type Harness } from './support/harness.js';
import { readSse, readWs } from './support/streams.js';

describe.each(DATABASES)('generate → stream → export (%s)', (db) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ db, fake: { latencyMs: 5 } });
  });
  afterAll(() => h?.close());

  it('turns a markdown document into QA records, streamed one by one and exported as ChatML', async () => {
    const doc = markdownDoc('guide.md', 4);
    const created = await request(h.url).post('/v1/generate').send({ documents: [doc], n_pairs: 3 }).expect(202);
    const run = created.body.run;
    expect(run.status).toMatch(/queued|running/);
    expect(run.progress.total).toBe(4);
    expect(created.headers.location).toBe(`/v1/runs/${run.id}`);

    const sse = await readSse(`${h.url}${run.links.events}`);
    expect(sse.contentType).toContain('text/event-stream');
    const types = sse.events.map((e) => e.type);
    expect(types[0]).toBe('run.queued');
    expect(types).toContain('run.started');
    expect(types.at(-1)).toBe('run.succeeded');
    const records = sse.events.filter((e) => e.type === 'record.created');
    expect(records).toHaveLength(12);
    // Every event id is its seq, strictly increasing with no gaps: replay can trust it.
    expect(sse.events.map((e) => Number(e.id))).toEqual(sse.events.map((_, i) => i + 1));
    const progress = sse.events.filter((e) => e.type === 'progress').at(-1)!;
    expect(progress.data).toMatchObject({ total: 4, done: 4, failed: 0, records: 12 });
    expect(progress.data.tokens.input).toBeGreaterThan(0);

    const finished = await request(h.url).get(`/v1/runs/${run.id}`).expect(200);
    expect(finished.body.run).toMatchObject({ status: 'succeeded', progress: { done: 4, records: 12 }, usage: { requests: 4 } });
    expect(finished.body.run.usage.output_tokens).toBeGreaterThan(0);
    // The run keeps what was asked, not a second copy of the documents (the chunks live in the tasks).
    expect(finished.body.run.spec.documents).toEqual([{ name: 'guide.md', chars: doc.text.length, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) }]);
    expect(finished.body.run.output.report).toMatchObject({ chunks: 4, chunks_used: 4, pairs_requested: 12, tasks: { succeeded: 4 } });

    const datasetId = run.output.dataset_id;
    const page = await request(h.url).get(`/v1/datasets/${datasetId}/records?limit=100`).expect(200);
    expect(page.body.records).toHaveLength(12);
    const first = page.body.records[0].data;
    // The first pair of a chunk also carries the chunk's text (Fair-Forge's context), once per chunk.
    expect(Object.keys(first)).toEqual(['question', 'answer', 'chunk_id', 'source', 'model', 'context']);
    expect(page.body.records.filter((r: any) => typeof r.data.context === 'string')).toHaveLength(4);
    expect(first.source).toBe('guide.md');
    expect(first.chunk_id).toBe('guide_section-1');
    expect(first.question).toMatch(/\?$/);
    // The streamed records are the stored records.
    expect(new Set(records.map((e) => JSON.stringify(e.data.record)))).toEqual(new Set(page.body.records.map((r: any) => JSON.stringify(r.data))));

    const chatml = await request(h.url).get(`/v1/datasets/${datasetId}/export?format=chatml&system_prompt=You%20are%20terse.`).expect(200);
    expect(chatml.headers['content-type']).toContain('application/x-ndjson');
    const lines = chatml.text.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(12);
    expect(lines[0]).toEqual({
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: first.question },
        { role: 'assistant', content: first.answer },
      ],
    });
  });

  it('waits for the run with Prefer: wait and exports every format', async () => {
    const res = await request(h.url).post('/v1/generate').set('Prefer', 'wait=20').send({ documents: [markdownDoc('a.md', 2)], target_pairs: 3 }).expect(200);
    expect(res.headers['preference-applied']).toBe('wait=20');
    expect(res.body.run).toMatchObject({ status: 'succeeded', progress: { records: 3 } });
    const id = res.body.run.output.dataset_id;
    const lines = async (format: string) =>
      (await request(h.url).get(`/v1/datasets/${id}/export?format=${format}`).expect(200)).text.trim().split('\n').map((l) => JSON.parse(l));
    const [alpaca, sharegpt, jsonl] = [await lines('alpaca'), await lines('sharegpt'), await lines('jsonl')];
    expect(jsonl).toHaveLength(3);
    expect(alpaca[0]).toEqual({ instruction: jsonl[0].question, input: '', output: jsonl[0].answer });
    expect(sharegpt[0]).toEqual({ conversations: [{ from: 'human', value: jsonl[0].question }, { from: 'gpt', value: jsonl[0].answer }] });
  });

  it('streams the same events over WebSocket', async () => {
    const res = await request(h.url).post('/v1/generate').set('Prefer', 'wait=20').send({ documents: [markdownDoc('w.md', 2)], n_pairs: 1 }).expect(200);
    const ws = await readWs(`${h.url.replace('http', 'ws')}${res.body.run.links.ws}`);
    expect(ws.code).toBe(1000);
    expect(ws.events.map((e) => e.seq)).toEqual(ws.events.map((_, i) => i + 1));
    expect(ws.events.filter((e) => e.type === 'record.created')).toHaveLength(2);
    expect(ws.events.at(-1)!.type).toBe('run.succeeded');
  });

  it('uses the Anthropic provider through its own SDK when asked', async () => {
    const res = await request(h.url)
      .post('/v1/generate')
      .set('Prefer', 'wait=20')
      .send({ documents: [markdownDoc('c.md', 1)], n_pairs: 2, llm: { provider: 'anthropic', model: 'claude-test' } })
      .expect(200);
    expect(res.body.run).toMatchObject({ status: 'succeeded', progress: { records: 2 } });
    const sent = h.fake.requests().filter((r) => r.path === '/v1/messages').at(-1)!.body as any;
    expect(sent.tool_choice).toEqual({ type: 'tool', name: 'qa_pairs' });
    expect(sent.tools[0].input_schema.properties.pairs.minItems).toBe(2);
    const records = await request(h.url).get(`/v1/datasets/${res.body.run.output.dataset_id}/records`).expect(200);
    expect(records.body.records[0].data.model).toBe('claude-test');
  });

  it('exposes Prometheus metrics for runs, tasks and teacher calls', async () => {
    const res = await request(h.url).get('/metrics').expect(200);
    expect(res.headers['content-type']).toContain('text/plain');
    expect(res.text).toMatch(/quarry_runs\{status="succeeded"\} [1-9]/);
    expect(res.text).toMatch(/quarry_tasks_claimed_total [1-9]/);
    expect(res.text).toMatch(/quarry_tasks_completed_total [1-9]/);
    expect(res.text).toMatch(/quarry_llm_requests_total\{provider="openai",model="gpt-4o-mini",outcome="ok"\} [1-9]/);
    expect(res.text).toMatch(/quarry_llm_tokens_total\{provider="anthropic",direction="output"\} [1-9]/);
    expect(res.text).toMatch(/quarry_llm_request_duration_seconds_bucket\{le="0.5",provider="openai"\} [1-9]/);
    const ready = await request(h.url).get('/readyz').expect(200);
    expect(ready.body).toEqual({ status: 'ready', database: db });
  });

  it('sends OpenAI a strict json_schema built from the validating schema', async () => {
    await request(h.url).post('/v1/generate').set('Prefer', 'wait=20').send({ documents: [markdownDoc('s.md', 1)], n_pairs: 4, llm: { model: 'gpt-test', temperature: 0.3 } }).expect(200);
    const sent = h.fake.requests().filter((r) => r.path === '/v1/chat/completions').at(-1)!.body as any;
    expect(sent.model).toBe('gpt-test');
    expect(sent.temperature).toBe(0.3);
    expect(sent.response_format.type).toBe('json_schema');
    expect(sent.response_format.json_schema.strict).toBe(true);
    const pairs = sent.response_format.json_schema.schema.properties.pairs;
    expect(pairs).toMatchObject({ type: 'array', minItems: 4, maxItems: 4 });
    expect(pairs.items).toMatchObject({ additionalProperties: false, required: ['question', 'answer'] });
  });
});
