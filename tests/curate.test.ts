import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from './support/databases.js';
import { startHarness, type Harness } from './support/harness.js';
import { readSse } from './support/streams.js';
import { answersByItem, answerTo, batchSizes, reportedUsage, TEACHER_MODES } from './support/teacher-modes.js';

const qa = Array.from({ length: 24 }, (_, i) => ({ question: `How does feature ${i} of the queue behave under load?`, answer: `Feature ${i} batches work and retries with backoff ${i}.` }));

/** A QA record as the judge's batch prompt shows it under its label. */
const itemText = (p: { question: string; answer: string }) => `Question: ${p.question}\nAnswer: ${p.answer}`;

/** Every judged record carries the scores the judge gave under its own label. */
function expectAligned(h: Harness, judged: Array<{ data: any }>) {
  const answers = answersByItem(h.fake.requests(), 'scores');
  for (const r of judged) {
    const given = answerTo(answers, itemText(r.data));
    const { rating: _rating, judge_model: _model, ...scores } = r.data.curation;
    expect(scores).toEqual(given);
  }
}

describe.each(TEACHER_MODES)('POST /v1/curate with $mode', ({ fake }) => {
  let h: Harness;
  let datasetId: string;
  beforeAll(async () => {
    h = await startHarness({ db: 'pglite', fake });
    datasetId = (await request(h.url).post('/v1/datasets').send({ name: 'qa', records: qa }).expect(201)).body.dataset.id;
  });
  afterAll(() => h?.close());

  const curate = (body: Record<string, unknown>) => request(h.url).post('/v1/curate').set('Prefer', 'wait=30').send(body);
  const records = async (id: string) => (await request(h.url).get(`/v1/datasets/${id}/records?limit=1000`).expect(200)).body.records;

  it('keeps records rated at or above the threshold and rejects the rest, with scores and reasons', async () => {
    h.fake.reset();
    const run = (await curate({ dataset_id: datasetId, threshold: 6, batch_size: 4 }).expect(200)).body.run;
    expect(run).toMatchObject({ kind: 'curate', status: 'succeeded', progress: { total: 6 } });
    expect(h.fake.stats().completions).toBe(6);
    const kept = await records(run.output.dataset_id);
    const rejected = await records(run.output.rejected_dataset_id);
    expect(kept.length + rejected.length).toBe(24);
    expect(kept.length).toBeGreaterThan(0);
    expect(rejected.length).toBeGreaterThan(0);
    for (const r of kept) {
      const c = r.data.curation;
      expect(c.rating).toBe(c.clarity + c.accuracy + c.usefulness + c.difficulty);
      expect(c.rating).toBeGreaterThanOrEqual(6);
      expect(c.judge_model).toBe('gpt-4o-mini');
    }
    for (const r of rejected) {
      expect(r.data.rejection.reason).toBe('below_threshold');
      expect(r.data.curation.rating).toBeLessThan(6);
    }
    expect(run.progress.records).toBe(kept.length);
    expect(run.links.rejected).toBe(`/v1/datasets/${run.output.rejected_dataset_id}`);
    const report = (await request(h.url).get(`/v1/runs/${run.id}`).expect(200)).body.run.output.report;
    expect(report).toMatchObject({ records_in: 24, kept: kept.length, rejected: { below_threshold: rejected.length }, to_judge: 24 });
    expect(Object.values(report.rating_histogram as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(24);
    expectAligned(h, [...kept, ...rejected]);
    // The judge saw every record once, labelled, in batches of 4.
    const prompt = (h.fake.requests()[0].body as any).messages.at(-1).content as string;
    expect(prompt).toContain('[e1]\nQuestion: How does feature 0');
    expect(prompt).toContain('[e4]');
    expect(prompt).not.toContain('[e5]');
    expect((h.fake.requests()[0].body as any).response_format.json_schema.schema).toMatchObject({ required: ['e1', 'e2', 'e3', 'e4'], additionalProperties: false });
  });

  it('a stricter threshold keeps fewer records', async () => {
    const lenient = (await curate({ dataset_id: datasetId, threshold: 0 }).expect(200)).body.run;
    const strict = (await curate({ dataset_id: datasetId, threshold: 9 }).expect(200)).body.run;
    expect((await records(lenient.output.dataset_id)).length).toBe(24);
    expect((await records(strict.output.dataset_id)).length).toBeLessThan(24);
  });

  it('rejects records judged off-topic when a topic is given', async () => {
    h.fake.reset();
    const run = (await curate({ dataset_id: datasetId, threshold: 0, topic: 'Postgres job queues' }).expect(200)).body.run;
    const prompt = (h.fake.requests().at(-1)!.body as any).messages.at(-1).content as string;
    expect(prompt).toContain('about this topic: "Postgres job queues"');
    const kept = await records(run.output.dataset_id);
    const rejected = await records(run.output.rejected_dataset_id);
    expect(kept.length + rejected.length).toBe(24);
    expect(rejected.length).toBeGreaterThan(0);
    expect(kept.every((r: any) => r.data.curation.topic_relevant === true)).toBe(true);
    expect(rejected.every((r: any) => r.data.rejection.reason === 'off_topic' && r.data.curation.topic_relevant === false)).toBe(true);
    expectAligned(h, [...kept, ...rejected]);
  });

  it('drops exact and near duplicates before judging, keeping them retrievable', async () => {
    h.fake.reset();
    const distinct = [
      { question: 'How do workers claim tasks from Postgres?', answer: 'With FOR UPDATE SKIP LOCKED.' },
      { question: 'What happens when a worker dies mid-task?', answer: 'Its lease expires and the task is requeued.' },
      { question: 'Why are outcomes committed in batches?', answer: 'One fsync is shared by many tasks.' },
      { question: 'Which export formats are supported?', answer: 'ChatML, messages, Alpaca, ShareGPT and JSONL.' },
      { question: 'How is an SSE stream resumed after a disconnect?', answer: 'Send Last-Event-ID.' },
    ];
    const withDups = [
      ...distinct,
      { ...distinct[0] },
      { question: '  what happens when a WORKER dies mid-task? ', answer: distinct[1].answer },
      { question: 'Why are the outcomes committed in batches?', answer: 'Different words entirely.' },
    ];
    const run = (await curate({ records: withDups, threshold: 0, dedup: { exact: true, near: 0.8 } }).expect(200)).body.run;
    expect(run.output.report).toMatchObject({ records_in: 8, duplicates: { exact: 2, near: 1 }, to_judge: 5 });
    expect(h.fake.stats().completions).toBe(1);
    const rejected = (await records(run.output.rejected_dataset_id)).map((r: any) => [r.key, r.data.rejection.reason, r.data.rejection.duplicate_of]);
    expect(rejected).toEqual([
      ['r5', 'exact_duplicate', 'r0'],
      ['r6', 'exact_duplicate', 'r1'],
      ['r7', 'near_duplicate', 'r2'],
    ]);
    expect((await records(run.output.dataset_id)).map((r: any) => r.key)).toEqual(['r0', 'r1', 'r2', 'r3', 'r4']);
  });

  it('deduplicates without a teacher when judge is false', async () => {
    h.fake.reset();
    const run = (await curate({ records: [qa[0], qa[1], qa[0]], judge: false, dedup: {} }).expect(200)).body.run;
    expect(run).toMatchObject({ status: 'succeeded', progress: { records: 2 } });
    expect(h.fake.stats().requests).toBe(0);
    expect((await records(run.output.dataset_id)).map((r: any) => r.data.curation)).toEqual([undefined, undefined]);
  });

  it('detects CoT and conversation records and shows them to the judge in full', async () => {
    const mixed = [
      { question: 'Why batch commits?', reasoning: ['Each commit costs an fsync.', 'Batching shares it.'], answer: 'To amortise fsync.' },
      { messages: [{ role: 'user', content: 'What is a lease?' }, { role: 'assistant', content: 'A time-limited claim.' }] },
    ];
    const run = (await curate({ records: mixed, threshold: 0 }).expect(200)).body.run;
    expect(run.status).toBe('succeeded');
    const prompt = (h.fake.requests().at(-1)!.body as any).messages.at(-1).content as string;
    expect(prompt).toContain('Reasoning:\n1. Each commit costs an fsync.\n2. Batching shares it.');
    expect(prompt).toContain('USER: What is a lease?\nASSISTANT: A time-limited claim.');
  });
});

describe.each(DATABASES)('POST /v1/curate: a teacher that ignores the schema (%s)', (db) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ db, fake: { latencyMs: 2, schemaOnly: true } });
  });
  afterAll(() => h?.close());
  const curate = (body: Record<string, unknown>) => request(h.url).post('/v1/curate').set('Prefer', 'wait=30').send(body);
  const records = async (id: string) => (await request(h.url).get(`/v1/datasets/${id}/records?limit=1000`).expect(200)).body.records;

  it('judges the examples of a batch that never aligns one by one, each with its own scores', async () => {
    h.fake.reset();
    h.fake.configure({ faults: [{ kind: 'misalign', match: '[e2]' }] });
    const run = (await curate({ records: qa.slice(0, 8), threshold: 0, batch_size: 4 }).expect(200)).body.run;
    expect(run).toMatchObject({ status: 'succeeded', progress: { total: 10, done: 10, failed: 0, records: 8 } });
    expect(batchSizes(h.fake.requests(), 'scores').sort()).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 4, 4, 4, 4, 4, 4]);
    expect(run.usage).toMatchObject(reportedUsage(h.fake.requests()));
    const kept = await records(run.output.dataset_id);
    expect(kept.map((r: any) => r.key).sort()).toEqual(qa.slice(0, 8).map((_, i) => `r${i}`).sort());
    expectAligned(h, kept);
  });

  it('an example that still fails alone is one failed item; the rest of its batch is judged', async () => {
    h.fake.reset();
    h.fake.configure({ faults: [{ kind: 'misalign', match: 'feature 2 of the queue' }] });
    const run = (await curate({ records: qa.slice(0, 4), threshold: 0, batch_size: 4, max_attempts: 1 }).expect(200)).body.run;
    expect(run).toMatchObject({ status: 'failed', progress: { total: 5, done: 4, failed: 1, records: 3 } });
    const kept = await records(run.output.dataset_id);
    expect(kept.map((r: any) => r.data.question).sort()).toEqual([qa[0], qa[1], qa[3]].map((q) => q.question).sort());
    expectAligned(h, kept);
    const failed = (await readSse(`${h.url}${run.links.events}`)).events.filter((e) => e.type === 'record.failed');
    expect(failed.map((e) => e.data)).toMatchObject([{ task: expect.stringMatching(/\/3$/), category: 'schema' }]);
  });
});

describe('POST /v1/curate: bad input', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ db: 'pglite', fake: { latencyMs: 2 } });
  });
  afterAll(() => h?.close());
  const curate = (body: Record<string, unknown>) => request(h.url).post('/v1/curate').set('Prefer', 'wait=30').send(body);

  it.each([
    [{}, 'dataset_id', 'exactly one'],
    [{ records: [{ foo: 1 }] }, 'records.0', 'records need question and answer'],
    [{ records: qa.slice(0, 1), threshold: 11 }, 'threshold', ''],
    [{ records: qa.slice(0, 1), threshold: -1 }, 'threshold', ''],
    [{ records: qa.slice(0, 1), batch_size: 0 }, 'batch_size', ''],
    [{ records: qa.slice(0, 1), dedup: { near: 0.3 } }, 'dedup.near', ''],
    [{ records: qa.slice(0, 1), dedup: { near: 1.5 } }, 'dedup.near', ''],
    [{ records: qa.slice(0, 1), dedup: { fuzzy: true } }, 'dedup.fuzzy', ''],
    [{ records: qa.slice(0, 1), dedup: { exact: false } }, 'dedup', 'turns deduplication off'],
    [{ records: qa.slice(0, 1), judge: false }, 'dedup', 'nothing to do'],
    [{ records: qa.slice(0, 1), judge: false, dedup: {}, threshold: 5 }, 'threshold', 'only applies when judging'],
    [{ records: qa.slice(0, 1), topic: 'x' }, 'topic', ''],
    [{ dataset_id: 'ds_000000000000000000000000' }, 'dataset_id', 'no dataset'],
  ])('rejects %j naming %s', async (body, field, text) => {
    const res = await curate(body).expect(400);
    const detail = res.body.error.details.find((d: any) => d.field === field);
    expect(detail, JSON.stringify(res.body.error)).toBeDefined();
    expect(detail.message).toContain(text);
  });
});
