import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from './support/databases.js';
import { startHarness, type Harness } from './support/harness.js';
import { readSse } from './support/streams.js';
import { answersByItem, batchSizes, reportedUsage, TEACHER_MODES } from './support/teacher-modes.js';

const seed = (i: number) => ({
  document: `# Lease recovery ${i}\n\nA worker holds a lease on each task it claims. The heartbeat extends the lease every ten seconds. When a worker dies, its leases expire after thirty seconds and the tasks return to the queue. Attempt ${i} is counted each time.`,
  document_outline: `Lease recovery ${i}`,
  domain: 'distributed systems',
  icl_document: 'A mutex protects a critical section. Only one thread may hold it.',
  icl_query_1: 'What does a mutex protect?',
  icl_query_2: 'How many threads may hold a mutex?',
  icl_query_3: 'Why is a critical section protected?',
});

/**
 * Every judged record carries what the teacher answered under its own labels: an answer given for
 * its question (`q…` in an answers call) and a verdict given for its question–answer pair (`a…`).
 * The teacher that reads the prompt may be asked the same question twice (about two seeds), so the
 * record's answer and verdict must be among those given for its text.
 */
function expectAligned(h: Harness, judged: any[]) {
  const answers = answersByItem(h.fake.requests(), 'answers');
  const verdicts = answersByItem(h.fake.requests(), 'faithfulness');
  for (const r of judged) {
    // Key-fact pairs come with their answers; every other question was answered in an answers call.
    if (!r.key_fact) expect(answers.get(r.question)?.map((a) => a.answer), r.question).toContain(r.response);
    const given = (verdicts.get(`Question: ${r.question}\nAnswer: ${r.response}`) ?? []).map((v) => ({ faithfulness_judgment: v.faithful ? 'YES' : 'NO', faithfulness_explanation: v.explanation }));
    expect(given, r.question).toContainEqual({ faithfulness_judgment: r.faithfulness_judgment, faithfulness_explanation: r.faithfulness_explanation });
  }
}

describe.each(TEACHER_MODES)('generate task knowledge: the four knowledge-tuning flows, with $mode', ({ fake }) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ db: 'pglite', fake });
  });
  afterAll(() => h?.close());

  const generate = (body: Record<string, unknown>) => request(h.url).post('/v1/generate').send({ task: 'knowledge', ...body });
  const records = async (id: string) => (await request(h.url).get(`/v1/datasets/${id}/records?limit=1000`).expect(200)).body.records.map((r: any) => r.data);

  it('runs every flow into its own dataset, spawning steps as it goes, and the judge really drops unfaithful answers', async () => {
    h.fake.reset();
    // Key-fact answers judged too (sdg_hub does not judge them; knowledge.export.test.ts covers the default).
    const body = { seed_records: [seed(1), seed(2)], summaries_per_document: 2, questions_per_context: 2, facts_per_document: 3, pairs_per_fact: 2, judge_key_facts: true };
    const queued = (await generate(body).expect(202)).body.run;
    expect(queued.progress.total).toBe(8);
    expect(Object.keys(queued.output.datasets).sort()).toEqual(['detailed_summary', 'document_qa', 'extractive_summary', 'key_facts']);
    const sse = await readSse(`${h.url}${queued.links.events}`);
    expect(sse.events.at(-1)!.type).toBe('run.succeeded');
    const run = (await request(h.url).get(`/v1/runs/${queued.id}`).expect(200)).body.run;
    // 2 seeds × (2 summarize + 4 qa + 1 key facts + 1 document qa) and one fact qa per key fact: the total grew as tasks spawned.
    const facts = run.progress.total - 16;
    expect(facts).toBeGreaterThanOrEqual(2);
    expect(facts).toBeLessThanOrEqual(6);
    expect(run.progress).toMatchObject({ done: run.progress.total, failed: 0 });
    // The teacher that reads the prompt names the fewest facts the schema allows, one per seed.
    if (!fake.schemaOnly) expect(run.progress.total).toBe(18);

    const d = run.output.datasets;
    const extractive = await records(d.extractive_summary);
    const detailed = await records(d.detailed_summary);
    const keyFacts = await records(d.key_facts);
    const documentQa = await records(d.document_qa);
    const rejected = await records(run.output.rejected_dataset_id);
    // Answers judged: 2 seeds × (4 summaries × 2 questions + 2 document questions), and 2 pairs per fact.
    expect(extractive.length + detailed.length + keyFacts.length + documentQa.length + rejected.length).toBe(20 + 2 * facts);
    expect(rejected.length).toBeGreaterThan(0);
    expect(rejected.every((r: any) => r.faithfulness_judgment === 'NO' && r.rejection.reason === 'unfaithful')).toBe(true);
    const kept = [...extractive, ...detailed, ...keyFacts, ...documentQa];
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.every((r: any) => r.faithfulness_judgment === 'YES')).toBe(true);
    expect(run.progress.records).toBe(kept.length);
    expectAligned(h, [...kept, ...rejected]);
    const byFlow = run.output.report.flows;
    expect(byFlow.extractive_summary.kept).toBe(extractive.length);
    expect(Object.values(byFlow as Record<string, { dropped_unfaithful: number }>).reduce((n, f) => n + f.dropped_unfaithful, 0)).toBe(rejected.length);

    // Each record shape, on the flows that kept some answers (all of them, with the teacher that reads the prompt).
    if (!fake.schemaOnly) for (const flow of [extractive, detailed, keyFacts, documentQa]) expect(flow.length).toBeGreaterThan(0);
    if (extractive[0]) expect(Object.keys(extractive[0])).toEqual(['summarized_document', 'document', 'raw_document', 'document_outline', 'domain', 'icl_document', 'icl_query_1', 'icl_query_2', 'icl_query_3', 'question', 'response', 'faithfulness_judgment', 'faithfulness_explanation']);
    if (keyFacts[0]) expect(keyFacts[0]).toMatchObject({ key_fact: expect.any(String), raw_document: expect.stringContaining('Lease recovery') });
    if (documentQa[0]) expect(documentQa[0]).not.toHaveProperty('summarized_document');

    const prompts = h.fake.requests().map((r) => (r.body as any).messages.at(-1).content as string);
    const questionPrompts = prompts.filter((p) => p.includes('distinct questions answerable from this text'));
    expect(questionPrompts).toHaveLength(10);
    expect(questionPrompts[0]).toContain('Example questions about it:\n- What does a mutex protect?');
    expect(prompts.filter((p) => p.includes('Judge these answers'))).toHaveLength(10 + facts);
  });

  it('runs only the chosen flows, from a dataset of seed records', async () => {
    h.fake.reset();
    const seeds = (await request(h.url).post('/v1/datasets').send({ name: 'seeds', records: [seed(3)] }).expect(201)).body.dataset.id;
    const run = (await generate({ dataset_id: seeds, flows: ['document_qa'], questions_per_context: 4 }).set('Prefer', 'wait=20').expect(200)).body.run;
    expect(run.status).toBe('succeeded');
    expect(Object.keys(run.output.datasets)).toEqual(['document_qa']);
    const kept = await records(run.output.datasets.document_qa);
    const rejected = await records(run.output.rejected_dataset_id);
    expect(kept.length + rejected.length).toBe(4);
    expectAligned(h, [...kept, ...rejected]);
    const sent = h.fake.requests().map((r) => (r.body as any).response_format?.json_schema).find((s) => s?.name === 'answers');
    expect(sent.schema).toMatchObject({ required: ['q1', 'q2', 'q3', 'q4'], additionalProperties: false });
  });
});

describe.each(DATABASES)('generate task knowledge: a teacher that ignores the schema (%s)', (db) => {
  let h: Harness;
  beforeAll(async () => {
    // One task at a time, so which attempts a counted fault hits is fixed.
    h = await startHarness({ db, fake: { latencyMs: 2, schemaOnly: true }, env: { WORKER_CONCURRENCY: '1' } });
  });
  afterAll(() => h?.close());

  const documentQa = async (body: Record<string, unknown> = {}) => {
    const run = (await request(h.url).post('/v1/generate').set('Prefer', 'wait=30').send({ task: 'knowledge', seed_records: [seed(4)], flows: ['document_qa'], questions_per_context: 3, ...body }).expect(200)).body.run;
    const judged = async (id: string) => (await request(h.url).get(`/v1/datasets/${id}/records?limit=1000`).expect(200)).body.records.map((r: any) => r.data);
    return { run, judged: [...(await judged(run.output.datasets.document_qa)), ...(await judged(run.output.rejected_dataset_id))] };
  };

  it('answers the questions of a batch that never aligns one by one, then judges each alone', async () => {
    h.fake.reset();
    h.fake.configure({ faults: [{ kind: 'misalign', match: '[q2]' }] });
    const { run, judged } = await documentQa();
    expect(run).toMatchObject({ status: 'succeeded', progress: { total: 4, done: 4, failed: 0 } });
    expect(batchSizes(h.fake.requests(), 'answers')).toEqual([3, 3, 3, 1, 1, 1]);
    expect(batchSizes(h.fake.requests(), 'faithfulness')).toEqual([1, 1, 1]);
    expect(run.usage).toMatchObject(reportedUsage(h.fake.requests()));
    expect(judged).toHaveLength(3);
    expectAligned(h, judged);
  });

  it('keeps the answers of a batch whose verdicts never align, and judges them one by one', async () => {
    h.fake.reset();
    h.fake.configure({ faults: [{ kind: 'misalign', match: '[a2]' }] });
    const { run, judged } = await documentQa();
    expect(run).toMatchObject({ status: 'succeeded', progress: { total: 4, done: 4, failed: 0 } });
    expect(batchSizes(h.fake.requests(), 'answers')).toEqual([3]);
    expect(batchSizes(h.fake.requests(), 'faithfulness')).toEqual([3, 3, 3, 1, 1, 1]);
    expect(judged).toHaveLength(3);
    expectAligned(h, judged);
  });

  it('a question that still fails alone is one failed item; the others are judged', async () => {
    h.fake.reset();
    // The 3 attempts at the batch, then the 3 attempts of whichever single question runs first.
    h.fake.configure({ faults: [{ kind: 'misalign', match: '[q1]', times: 6 }] });
    const { run, judged } = await documentQa({ questions_per_context: 2, max_attempts: 1 });
    expect(run).toMatchObject({ status: 'failed', progress: { total: 3, done: 2, failed: 1 } });
    expect(judged).toHaveLength(1);
    expectAligned(h, judged);
    const failed = (await readSse(`${h.url}${run.links.events}`)).events.filter((e) => e.type === 'record.failed');
    expect(failed.map((e) => e.data)).toMatchObject([{ task: expect.stringMatching(/\/item[12]$/), category: 'schema' }]);
  });
});

describe('generate task knowledge: bad input', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ db: 'pglite', fake: { latencyMs: 2 } });
  });
  afterAll(() => h?.close());

  const generate = (body: Record<string, unknown>) => request(h.url).post('/v1/generate').send({ task: 'knowledge', ...body });

  it.each([
    [{ documents: [{ name: 'a', text: 'b' }] }, 'documents', 'seed_records'],
    [{}, 'seed_records', 'give one source'],
    [{ seed_records: [{ domain: 'x' }] }, 'seed_records.0.document', ''],
    [{ seed_records: [{ document: '   ' }] }, 'seed_records.0.document', 'non-empty'],
    [{ seed_records: [seed(1)], flows: ['summaries'] }, 'flows.0', ''],
    [{ seed_records: [seed(1)], flows: ['key_facts', 'key_facts'] }, 'flows', ''],
    [{ seed_records: [seed(1)], flows: [] }, 'flows', ''],
    [{ seed_records: [seed(1)], summaries_per_document: 0 }, 'summaries_per_document', ''],
    [{ seed_records: [seed(1)], n_pairs: 2 }, 'n_pairs', 'does not apply'],
  ])('rejects %j naming %s', async (body, field, text) => {
    const res = await generate(body).expect(400);
    const detail = res.body.error.details.find((d: any) => d.field === field);
    expect(detail, JSON.stringify(res.body.error)).toBeDefined();
    expect(detail.message).toContain(text);
  });

  it('rejects knowledge fields on other tasks', async () => {
    const res = await request(h.url).post('/v1/generate').send({ documents: [{ name: 'a', text: 'b' }], flows: ['key_facts'] }).expect(400);
    expect(res.body.error.details[0]).toMatchObject({ field: 'flows', message: 'only applies to task "knowledge"' });
  });
});
