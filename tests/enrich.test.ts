import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './support/harness.js';

const pairs = Array.from({ length: 7 }, (_, i) => ({
  question: `How do I configure option ${i}?`,
  answer: `Set QUARRY_OPT_${i}=on and restart with \`quarry restart --force\`; it takes ${i + 1} seconds.`,
  chunk_id: `c${i}`,
}));

describe('POST /v1/enrich', () => {
  let h: Harness;
  let datasetId: string;
  beforeAll(async () => {
    h = await startHarness({ db: 'pglite', fake: { latencyMs: 2 } });
    datasetId = (await request(h.url).post('/v1/datasets').send({ name: 'qa', records: pairs }).expect(201)).body.dataset.id;
  });
  afterAll(() => h?.close());

  const enrich = (body: Record<string, unknown>) => request(h.url).post('/v1/enrich').set('Prefer', 'wait=20').send(body);
  const records = async (id: string) => (await request(h.url).get(`/v1/datasets/${id}/records?limit=1000`).expect(200)).body.records;

  it('rewrites answers in batches, keeping the originals and listing the changes', async () => {
    h.fake.reset();
    const run = (await enrich({ dataset_id: datasetId, batch_size: 3 }).expect(200)).body.run;
    expect(run).toMatchObject({ kind: 'enrich', status: 'succeeded', progress: { total: 3, records: 7 }, output: { report: { records_in: 7, batches: 3, mode: 'rewrite' } } });
    expect(h.fake.stats().completions).toBe(3);
    const out = await records(run.output.dataset_id);
    // Same records, same order and keys, each still about its own question.
    expect(out.map((r: any) => r.key)).toEqual(pairs.map((_, i) => `import#${i}`));
    out.forEach((r: any, i: number) => {
      expect(r.data.question).toBe(pairs[i].question);
      expect(r.data.chunk_id).toBe(`c${i}`);
      expect(r.data.original_answer).toBe(pairs[i].answer);
      expect(typeof r.data.answer).toBe('string');
      expect(Array.isArray(r.data.enrichment_changes)).toBe(true);
      expect(r.data.enrichment_model).toBe('gpt-4o-mini');
    });
    const prompt = (h.fake.requests()[0].body as any).messages.at(-1).content as string;
    expect(prompt).toContain('[p1]\nQuestion: How do I configure option 0?');
    expect(prompt).toContain('[p3]');
    expect(prompt).not.toContain('[p4]');
  });

  it('drops the original answer with preserve_original: false', async () => {
    const run = (await enrich({ records: pairs.slice(0, 2), preserve_original: false }).expect(200)).body.run;
    expect(run.spec).toMatchObject({ mode: 'rewrite', record_count: 2 });
    expect(run.spec.records).toBeUndefined();
    const out = await records(run.output.dataset_id);
    expect(out).toHaveLength(2);
    expect(out.every((r: any) => !('original_answer' in r.data))).toBe(true);
  });

  it('adds reasoning with mode cot and leaves the answer untouched', async () => {
    const run = (await enrich({ dataset_id: datasetId, mode: 'cot' }).expect(200)).body.run;
    expect(run).toMatchObject({ status: 'succeeded', progress: { total: 2, records: 7 } });
    const out = await records(run.output.dataset_id);
    out.forEach((r: any, i: number) => {
      expect(r.data.answer).toBe(pairs[i].answer);
      expect(r.data.reasoning.length).toBeGreaterThanOrEqual(2);
    });
    const [line] = (await request(h.url).get(`/v1/datasets/${run.output.dataset_id}/export?format=messages`).expect(200)).text.trim().split('\n').map((l) => JSON.parse(l));
    expect(line.messages[1]).toMatchObject({ role: 'assistant', content: pairs[0].answer });
    expect(line.messages[1].reasoning_content).toMatch(/^1\. /);
  });

  it('feeds a misaligned batch back and stores nothing misaligned', async () => {
    h.fake.reset();
    // One answer whose items break the schema (wrong types) is retried with the error fed back.
    h.fake.configure({ faults: [{ kind: 'schema', times: 1 }] });
    const run = (await enrich({ records: pairs.slice(0, 3) }).expect(200)).body.run;
    expect(run).toMatchObject({ status: 'succeeded', progress: { records: 3 }, usage: { requests: 2 } });
    const out = await records(run.output.dataset_id);
    expect(out.map((r: any) => r.data.question)).toEqual(pairs.slice(0, 3).map((p) => p.question));
  });

  it.each([
    [{}, 'dataset_id', 'exactly one'],
    [{ dataset_id: 'ds_000000000000000000000000', records: [{ question: 'q?', answer: 'a' }] }, 'records', 'exactly one'],
    [{ dataset_id: 'ds_000000000000000000000000' }, 'dataset_id', 'no dataset'],
    [{ records: [{ question: 'q?', answer: 'a' }, { question: 'no answer' }] }, 'records.1', 'question and answer'],
    [{ records: [] }, 'records', ''],
    [{ records: [{ question: 'q?', answer: 'a' }], mode: 'summarize' }, 'mode', ''],
    [{ records: [{ question: 'q?', answer: 'a' }], mode: 'cot', preserve_original: true }, 'preserve_original', 'rewrite'],
    [{ records: [{ question: 'q?', answer: 'a' }], batch_size: 0 }, 'batch_size', ''],
    [{ records: [{ question: 'q?', answer: 'a' }], batch_size: 21 }, 'batch_size', ''],
    [{ records: [{ question: 'q?', answer: 'a' }], llm: { provider: 'nope' } }, 'llm.provider', 'unknown provider'],
    [{ records: [{ question: 'q?', answer: 'a' }], unknown: 1 }, 'unknown', ''],
  ])('rejects %j naming %s', async (body, field, text) => {
    const res = await enrich(body).expect(400);
    const detail = res.body.error.details.find((d: any) => d.field === field);
    expect(detail, JSON.stringify(res.body.error)).toBeDefined();
    expect(detail.message).toContain(text);
  });

  it('rejects a dataset of records that are not pairs', async () => {
    const other = (await request(h.url).post('/v1/datasets').send([{ content: 'a chunk' }]).expect(201)).body.dataset.id;
    const res = await enrich({ dataset_id: other }).expect(400);
    expect(res.body.error.details[0].field).toBe('dataset_id');
  });
});
