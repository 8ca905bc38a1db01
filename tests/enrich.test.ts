import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from './support/databases.js';
import { startHarness, type Harness } from './support/harness.js';
import { readSse } from './support/streams.js';
import { answersByItem, answerTo, batchSizes, reportedUsage, TEACHER_MODES } from './support/teacher-modes.js';

const pairs = Array.from({ length: 7 }, (_, i) => ({
  question: `How do I configure option ${i}?`,
  answer: `Set QUARRY_OPT_${i}=on and restart with \`quarry restart --force\`; it takes ${i + 1} seconds.`,
  chunk_id: `c${i}`,
}));
/** A pair as the batch prompt shows it under its label. */
const itemText = (p: { question: string; answer: string }) => `Question: ${p.question}\nAnswer: ${p.answer}`;

async function withPairs(h: Harness) {
  return (await request(h.url).post('/v1/datasets').send({ name: 'qa', records: pairs }).expect(201)).body.dataset.id as string;
}
const byKey = (a: { key: string }, b: { key: string }) => a.key.localeCompare(b.key);
const enrichOn = (h: Harness) => (body: Record<string, unknown>) => request(h.url).post('/v1/enrich').set('Prefer', 'wait=20').send(body);
const recordsOn = (h: Harness) => async (id: string) => (await request(h.url).get(`/v1/datasets/${id}/records?limit=1000`).expect(200)).body.records;

describe.each(TEACHER_MODES)('POST /v1/enrich with $mode', ({ fake }) => {
  let h: Harness;
  let datasetId: string;
  beforeAll(async () => {
    h = await startHarness({ db: 'pglite', fake });
    datasetId = await withPairs(h);
  });
  afterAll(() => h?.close());
  const enrich = (body: Record<string, unknown>) => enrichOn(h)(body);
  const records = (id: string) => recordsOn(h)(id);

  it('rewrites answers in batches, keeping the originals and listing the changes, each pair its own answer', async () => {
    h.fake.reset();
    const run = (await enrich({ dataset_id: datasetId, batch_size: 3 }).expect(200)).body.run;
    expect(run).toMatchObject({ kind: 'enrich', status: 'succeeded', progress: { total: 3, records: 7 }, output: { report: { records_in: 7, batches: 3, mode: 'rewrite' } } });
    expect(h.fake.stats().completions).toBe(3);
    const out = await records(run.output.dataset_id);
    // Same records, same order and keys, each carrying the answer the teacher gave under its own label.
    expect(out.map((r: any) => r.key)).toEqual(pairs.map((_, i) => `import#${i}`));
    const answers = answersByItem(h.fake.requests(), 'enriched_answers');
    out.forEach((r: any, i: number) => {
      const given = answerTo(answers, itemText(pairs[i]));
      expect(r.data).toMatchObject({ question: pairs[i].question, chunk_id: `c${i}`, original_answer: pairs[i].answer, enrichment_model: 'gpt-4o-mini' });
      expect(r.data.answer).toBe(String(given.enriched_answer).trim());
      expect(r.data.enrichment_changes).toEqual(given.changes);
      // A teacher that reads the prompt answers each pair from that pair's own text.
      if (!fake.schemaOnly) expect(r.data.answer).toMatch(new RegExp(`option ${i}\\b|QUARRY_OPT_${i}\\b`));
    });
    const prompt = (h.fake.requests()[0].body as any).messages.at(-1).content as string;
    expect(prompt).toContain('[p1]\nQuestion: How do I configure option 0?');
    expect(prompt).toContain('[p3]');
    expect(prompt).not.toContain('[p4]');
    expect(prompt).toContain('its id (p1, p2, p3)');
    // The labels are the schema's required keys, so a teacher that only follows the schema still aligns.
    const sent = (h.fake.requests()[0].body as any).response_format.json_schema.schema;
    expect(sent).toMatchObject({ type: 'object', required: ['p1', 'p2', 'p3'], additionalProperties: false });
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
    h.fake.reset();
    const run = (await enrich({ dataset_id: datasetId, mode: 'cot' }).expect(200)).body.run;
    expect(run).toMatchObject({ status: 'succeeded', progress: { total: 2, records: 7 } });
    const out = await records(run.output.dataset_id);
    const answers = answersByItem(h.fake.requests(), 'reasoning');
    out.forEach((r: any, i: number) => {
      expect(r.data.answer).toBe(pairs[i].answer);
      expect(r.data.reasoning).toEqual((answerTo(answers, itemText(pairs[i])).reasoning as string[]).map((s) => s.trim()));
      expect(r.data.reasoning.length).toBeGreaterThanOrEqual(2);
    });
    const [line] = (await request(h.url).get(`/v1/datasets/${run.output.dataset_id}/export?format=messages`).expect(200)).text.trim().split('\n').map((l) => JSON.parse(l));
    expect(line.messages[1]).toMatchObject({ role: 'assistant', content: pairs[0].answer });
    expect(line.messages[1].reasoning_content).toMatch(/^1\. /);
  });

  it('feeds an answer that breaks the schema back and stores nothing misaligned', async () => {
    h.fake.reset();
    // One answer whose entries break the schema (wrong types, a label missing) is retried with the error fed back.
    h.fake.configure({ faults: [{ kind: 'schema', times: 1 }] });
    const run = (await enrich({ records: pairs.slice(0, 3) }).expect(200)).body.run;
    expect(run).toMatchObject({ status: 'succeeded', progress: { records: 3 }, usage: { requests: 2 } });
    const out = await records(run.output.dataset_id);
    expect(out.map((r: any) => r.data.question)).toEqual(pairs.slice(0, 3).map((p) => p.question));
  });
});

describe.each(DATABASES)('POST /v1/enrich: a teacher that ignores the schema (%s)', (db) => {
  let h: Harness;
  let datasetId: string;
  beforeAll(async () => {
    h = await startHarness({ db, fake: { latencyMs: 2, schemaOnly: true } });
    datasetId = await withPairs(h);
  });
  afterAll(() => h?.close());
  const enrich = (body: Record<string, unknown>) => enrichOn(h)(body);
  const records = (id: string) => recordsOn(h)(id);

  it('splits a batch whose labels never align and enriches its pairs one by one, still aligned, counting every call', async () => {
    h.fake.reset();
    // Every answer to a batch of two or more skips a label and invents another; single pairs are answered.
    h.fake.configure({ faults: [{ kind: 'misalign', match: '[p2]' }] });
    const run = (await enrich({ dataset_id: datasetId, batch_size: 3 }).expect(200)).body.run;
    // b0 and b1 (3 pairs each) split into 6 single-pair tasks; b2 has one pair and goes through.
    expect(run).toMatchObject({ status: 'succeeded', progress: { total: 9, done: 9, failed: 0, records: 7 } });
    expect(batchSizes(h.fake.requests(), 'enriched_answers').sort()).toEqual([1, 1, 1, 1, 1, 1, 1, 3, 3, 3, 3, 3, 3]);
    // The failed batch attempts are paid for and counted.
    const spent = reportedUsage(h.fake.requests());
    expect(spent.requests).toBe(13);
    expect(run.usage).toMatchObject(spent);
    // Records of split batches land after the others: compared by key.
    const out = (await records(run.output.dataset_id)).sort(byKey);
    expect(out.map((r: any) => r.key)).toEqual(pairs.map((_, i) => `import#${i}`));
    const answers = answersByItem(h.fake.requests(), 'enriched_answers');
    out.forEach((r: any, i: number) => {
      expect(r.data.question).toBe(pairs[i].question);
      expect(r.data.answer).toBe(String(answerTo(answers, itemText(pairs[i])).enriched_answer).trim());
    });
  });

  it('a pair that still fails alone is one failed item, not a failed batch', async () => {
    h.fake.reset();
    h.fake.configure({ faults: [{ kind: 'misalign', match: 'configure option 1?' }] });
    const run = (await enrich({ dataset_id: datasetId, batch_size: 3, max_attempts: 1 }).expect(200)).body.run;
    expect(run).toMatchObject({ status: 'failed', progress: { total: 6, done: 5, failed: 1, records: 6 }, error: { category: 'tasks_failed' } });
    const out = (await records(run.output.dataset_id)).sort(byKey);
    expect(out.map((r: any) => r.key)).toEqual(pairs.map((_, i) => `import#${i}`).filter((k) => k !== 'import#1'));
    const answers = answersByItem(h.fake.requests(), 'enriched_answers');
    for (const r of out) {
      const i = Number(r.key.split('#')[1]);
      expect(r.data.answer).toBe(String(answerTo(answers, itemText(pairs[i])).enriched_answer).trim());
    }
    const sse = await readSse(`${h.url}${run.links.events}`);
    const failed = sse.events.filter((e) => e.type === 'record.failed');
    expect(failed).toHaveLength(1);
    expect(failed[0].data).toMatchObject({ task: 'b0/2', category: 'schema' });

    // Retrying the run re-runs that one pair alone.
    h.fake.reset();
    await request(h.url).post(`/v1/runs/${run.id}/retry`).expect(200);
    expect((await readSse(`${h.url}${run.links.events}`)).events.at(-1)!.type).toBe('run.succeeded');
    expect(batchSizes(h.fake.requests(), 'enriched_answers')).toEqual([1]);
    const retried = (await records(run.output.dataset_id)).find((r: any) => r.key === 'import#1');
    expect(retried.data.answer).toBe(String(answerTo(answersByItem(h.fake.requests(), 'enriched_answers'), itemText(pairs[1])).enriched_answer).trim());
  });
});

describe('POST /v1/enrich: bad input', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ db: 'pglite', fake: { latencyMs: 2 } });
  });
  afterAll(() => h?.close());
  const enrich = (body: Record<string, unknown>) => enrichOn(h)(body);

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
