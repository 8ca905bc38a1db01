import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from './support/databases.js';
import { markdownDoc, startHarness, type Harness } from './support/harness.js';
import { readSse } from './support/streams.js';
import { answersByItem, batchSizes, reportedUsage, TEACHER_MODES } from './support/teacher-modes.js';

const TOPIC = 'job queues on Postgres';
const generateOn = (h: Harness) => async (body: Record<string, unknown>) => {
  const run = (await request(h.url).post('/v1/generate').set('Prefer', 'wait=30').send({ documents: [markdownDoc('t.md', 4)], n_pairs: 3, topic: TOPIC, ...body }).expect(200)).body.run;
  const records = async (id: string) => (await request(h.url).get(`/v1/datasets/${id}/records?limit=100`).expect(200)).body.records;
  return { run, kept: await records(run.output.dataset_id), dropped: await records(run.output.rejected_dataset_id) };
};

/**
 * Every judged pair went where a verdict given under its own label sent it, with that verdict's
 * reason (the teacher that reads the prompt may write the same pair for two chunks: any of its verdicts).
 */
function expectAligned(h: Harness, kept: any[], dropped: any[]) {
  const verdicts = answersByItem(h.fake.requests(), 'topic_verdicts');
  const verdictsOf = (r: any) => verdicts.get(`Question: ${r.data.question}\nAnswer: ${r.data.answer}`) ?? [];
  for (const r of kept) expect(verdictsOf(r).map((v) => v.on_topic), r.key).toContain(true);
  for (const r of dropped) expect(verdictsOf(r), r.key).toContainEqual({ on_topic: false, reason: r.data.rejection.detail });
}

describe.each(TEACHER_MODES)('topic filter for generated pairs, with $mode', ({ fake }) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ db: 'pglite', fake });
  });
  afterAll(() => h?.close());
  const generate = (body: Record<string, unknown>) => generateOn(h)(body);

  it.each(['qa', 'cot'])('%s: a judge drops pairs not about the topic, and the report says how many and why', async (task) => {
    h.fake.reset();
    const { run, kept, dropped } = await generate({ task });
    expect(run.status).toBe('succeeded');
    expect(kept.length + dropped.length).toBe(12);
    expect(dropped.length).toBeGreaterThan(0);
    expect(kept.length).toBeGreaterThan(0);
    expect(dropped.every((r: any) => r.data.rejection.reason === 'off_topic' && r.data.rejection.topic === TOPIC && r.data.rejection.detail)).toBe(true);
    expect(run.progress.records).toBe(kept.length);
    expect(run.output.report.dropped).toEqual({ off_topic: dropped.length });
    expect(run.output.report.dropped_examples[0]).toMatchObject({ key: dropped[0].key, question: dropped[0].data.question });
    expect(batchSizes(h.fake.requests(), 'topic_verdicts')).toEqual([3, 3, 3, 3]);
    expectAligned(h, kept, dropped);
  });
});

describe.each(DATABASES)('topic filter: a teacher that ignores the schema (%s)', (db) => {
  let h: Harness;
  beforeAll(async () => {
    // One task at a time, so which attempts a counted fault hits is fixed.
    h = await startHarness({ db, fake: { latencyMs: 2, schemaOnly: true }, env: { WORKER_CONCURRENCY: '1' } });
  });
  afterAll(() => h?.close());
  const generate = (body: Record<string, unknown>) => generateOn(h)(body);

  it('judges the pairs of a batch whose verdicts never align one by one, keeping every pair', async () => {
    h.fake.reset();
    // Only prompts with a second label are garbled, so single pairs get their verdicts.
    h.fake.configure({ faults: [{ kind: 'misalign', match: '[p2]' }] });
    const { run, kept, dropped } = await generate({ task: 'qa', documents: [markdownDoc('t.md', 2)] });
    // 2 chunks, their verdict batches split into 3 single-pair tasks each.
    expect(run).toMatchObject({ status: 'succeeded', progress: { total: 8, done: 8, failed: 0 } });
    expect(kept.length + dropped.length).toBe(6);
    expect(batchSizes(h.fake.requests(), 'topic_verdicts').sort()).toEqual([1, 1, 1, 1, 1, 1, 3, 3, 3, 3, 3, 3]);
    expect(run.usage).toMatchObject(reportedUsage(h.fake.requests()));
    // The records keep the keys the unsplit batch would have given them: three per chunk.
    const keys = [...kept, ...dropped].map((r: any) => r.key);
    expect(new Set(keys).size).toBe(6);
    expect(keys.every((k: string) => /#[012]$/.test(k))).toBe(true);
    expectAligned(h, kept, dropped);
  });

  it('a pair whose verdict still fails alone is one failed item; the rest of its chunk is kept', async () => {
    h.fake.reset();
    // Garbles the batch (3 attempts), then every attempt at whichever single pair is judged first.
    h.fake.configure({ faults: [{ kind: 'misalign', match: 'Topic: job queues', times: 6 }] });
    const { run, kept, dropped } = await generate({ task: 'qa', documents: [markdownDoc('t.md', 1)], max_attempts: 1 });
    expect(run).toMatchObject({ status: 'failed', progress: { total: 4, done: 3, failed: 1 } });
    expect(kept.length + dropped.length).toBe(2);
    expectAligned(h, kept, dropped);
    const failed = (await readSse(`${h.url}${run.links.events}`)).events.filter((e) => e.type === 'record.failed');
    expect(failed.map((e) => e.data)).toMatchObject([{ task: expect.stringMatching(/\/topic[123]$/), category: 'schema' }]);
  });
});
