import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './support/harness.js';
import { readSse } from './support/streams.js';

const seed = (i: number) => ({
  document: `# Lease recovery ${i}\n\nA worker holds a lease on each task it claims. The heartbeat extends the lease every ten seconds. When a worker dies, its leases expire after thirty seconds and the tasks return to the queue. Attempt ${i} is counted each time.`,
  document_outline: `Lease recovery ${i}`,
  domain: 'distributed systems',
  icl_document: 'A mutex protects a critical section. Only one thread may hold it.',
  icl_query_1: 'What does a mutex protect?',
  icl_query_2: 'How many threads may hold a mutex?',
  icl_query_3: 'Why is a critical section protected?',
});

describe('generate task knowledge: the four knowledge-tuning flows', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ db: 'pglite', fake: { latencyMs: 2 } });
  });
  afterAll(() => h?.close());

  const generate = (body: Record<string, unknown>) => request(h.url).post('/v1/generate').send({ task: 'knowledge', ...body });
  const records = async (id: string) => (await request(h.url).get(`/v1/datasets/${id}/records?limit=1000`).expect(200)).body.records.map((r: any) => r.data);

  it('runs every flow into its own dataset, spawning steps as it goes, and the judge really drops unfaithful answers', async () => {
    h.fake.reset();
    const body = { seed_records: [seed(1), seed(2)], summaries_per_document: 2, questions_per_context: 2, facts_per_document: 3, pairs_per_fact: 2 };
    const queued = (await generate(body).expect(202)).body.run;
    expect(queued.progress.total).toBe(8);
    expect(Object.keys(queued.output.datasets).sort()).toEqual(['detailed_summary', 'document_qa', 'extractive_summary', 'key_facts']);
    const sse = await readSse(`${h.url}${queued.links.events}`);
    expect(sse.events.at(-1)!.type).toBe('run.succeeded');
    const run = (await request(h.url).get(`/v1/runs/${queued.id}`).expect(200)).body.run;
    // 2 seeds × (2 summarize + 4 qa + 1 key facts + 1 fact qa + 1 document qa): the total grew as tasks spawned.
    expect(run.progress).toMatchObject({ total: 18, done: 18, failed: 0 });

    const d = run.output.datasets;
    const extractive = await records(d.extractive_summary);
    const detailed = await records(d.detailed_summary);
    const keyFacts = await records(d.key_facts);
    const documentQa = await records(d.document_qa);
    const rejected = await records(run.output.rejected_dataset_id);
    // 24 answers were judged: 2 seeds × (4 summaries × 2 questions + 1 fact × 2 pairs + 2 document questions).
    expect(extractive.length + detailed.length + keyFacts.length + documentQa.length + rejected.length).toBe(24);
    expect(rejected.length).toBeGreaterThan(0);
    expect(rejected.every((r: any) => r.faithfulness_judgment === 'NO' && r.rejection.reason === 'unfaithful')).toBe(true);
    const kept = [...extractive, ...detailed, ...keyFacts, ...documentQa];
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.every((r: any) => r.faithfulness_judgment === 'YES')).toBe(true);
    expect(run.progress.records).toBe(kept.length);
    const byFlow = run.output.report.flows;
    expect(byFlow.extractive_summary.kept).toBe(extractive.length);
    expect(Object.values(byFlow as Record<string, { dropped_unfaithful: number }>).reduce((n, f) => n + f.dropped_unfaithful, 0)).toBe(rejected.length);

    // Every flow kept some answers, so each record shape is checked.
    for (const flow of [extractive, detailed, keyFacts, documentQa]) expect(flow.length).toBeGreaterThan(0);
    expect(Object.keys(extractive[0])).toEqual(['summarized_document', 'question', 'response', 'raw_document', 'domain', 'faithfulness_judgment', 'faithfulness_explanation']);
    expect(keyFacts[0]).toMatchObject({ key_fact: expect.any(String), raw_document: expect.stringContaining('Lease recovery') });
    expect(documentQa[0]).not.toHaveProperty('summarized_document');

    const prompts = h.fake.requests().map((r) => (r.body as any).messages.at(-1).content as string);
    const questionPrompts = prompts.filter((p) => p.includes('distinct questions answerable from this text'));
    expect(questionPrompts).toHaveLength(10);
    expect(questionPrompts[0]).toContain('Example questions about it:\n- What does a mutex protect?');
    expect(prompts.filter((p) => p.includes('Judge these answers'))).toHaveLength(12);
  });

  it('runs only the chosen flows, from a dataset of seed records', async () => {
    const seeds = (await request(h.url).post('/v1/datasets').send({ name: 'seeds', records: [seed(3)] }).expect(201)).body.dataset.id;
    const run = (await generate({ dataset_id: seeds, flows: ['document_qa'], questions_per_context: 4 }).set('Prefer', 'wait=20').expect(200)).body.run;
    expect(run.status).toBe('succeeded');
    expect(Object.keys(run.output.datasets)).toEqual(['document_qa']);
    const kept = await records(run.output.datasets.document_qa);
    const rejected = await records(run.output.rejected_dataset_id);
    expect(kept.length + rejected.length).toBe(4);
  });

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
