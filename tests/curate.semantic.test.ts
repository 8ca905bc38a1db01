import { sql } from 'drizzle-orm';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rows } from '../db/client.js';
import { DATABASES } from './support/databases.js';
import { startHarness, type Harness } from './support/harness.js';
import { readSse } from './support/streams.js';
import { TEACHER_MODES } from './support/teacher-modes.js';
import { singleStep } from './support/tool-examples.js';

type QA = { question: string; answer: string };

/** Six records on different subjects. */
const originals: QA[] = [
  { question: 'How do workers claim tasks from the Postgres queue?', answer: 'Workers claim tasks with FOR UPDATE SKIP LOCKED, so two workers never take the same task.' },
  { question: 'What happens when a worker dies in the middle of a task?', answer: 'The lease of the worker expires and the task is queued again for another worker.' },
  { question: 'Why are task outcomes committed in batches?', answer: 'Committing outcomes in batches shares one fsync between many tasks.' },
  { question: 'Which training formats can a dataset be exported to?', answer: 'ChatML, OpenAI messages, Alpaca, ShareGPT and plain JSONL.' },
  { question: 'How does a client resume an event stream after a disconnect?', answer: 'The client sends the Last-Event-ID header and the stream resumes after that event.' },
  { question: 'What limits how many runs one API key can have in flight?', answer: 'MAX_RUNS_IN_FLIGHT_PER_KEY caps the queued and running runs of one key.' },
];
/** Paraphrases of the first three: the same words reordered and re-inflected, which MinHash on characters does not match. */
const paraphrases: QA[] = [
  { question: 'From the Postgres queue, how are the tasks claimed by workers?', answer: 'With FOR UPDATE SKIP LOCKED the workers claim tasks, so the same task is never taken by two workers.' },
  { question: 'In the middle of a task, what happens when the worker dies?', answer: 'The task is queued again for another worker when the worker lease expires.' },
  { question: 'Why are the outcomes of tasks committed in a batch?', answer: 'One fsync is shared between many tasks by committing outcomes in batches.' },
];
const all = [...originals, ...paraphrases];
/** Each record of a pair → the question of the other. */
const pairOf = new Map(paraphrases.map((p, i) => [p.question, originals[i].question]));
for (const [p, o] of [...pairOf]) pairOf.set(o, p);

const EMBEDDING_MODEL = 'text-embedding-3-small';

describe.each(DATABASES)('POST /v1/curate with dedup.semantic (%s)', (db) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ db, fake: { latencyMs: 2 }, env: { EMBEDDING_MODEL } });
  });
  afterAll(() => h?.close());

  const curate = (body: Record<string, unknown>) => request(h.url).post('/v1/curate').set('Prefer', 'wait=60').send(body);
  const records = async (id: string) => (await request(h.url).get(`/v1/datasets/${id}/records?limit=1000`).expect(200)).body.records;
  const importSet = async (recs: unknown[]) => (await request(h.url).post('/v1/datasets').send({ name: 'qa', records: recs }).expect(201)).body.dataset.id as string;
  const report = async (runId: string) => (await request(h.url).get(`/v1/runs/${runId}`).expect(200)).body.run.output.report;
  const embedCalls = () => h.fake.requests().filter((r) => r.path === '/v1/embeddings');
  const judgeCalls = () => h.fake.requests().filter((r) => r.path === '/v1/chat/completions');
  /** Rejected records as `question → question of the record it duplicates`. */
  const duplicatesByText = async (run: any) => {
    const kept = await records(run.output.dataset_id);
    const rejected = await records(run.output.rejected_dataset_id);
    const byKey = new Map([...kept, ...rejected].map((r: any) => [r.key, r.data.question]));
    return {
      kept: kept.map((r: any) => r.data.question).sort(),
      dropped: Object.fromEntries(rejected.map((r: any) => [r.data.question, byKey.get(r.data.rejection.duplicate_of)])),
      rejected,
    };
  };

  it('removes the paraphrases MinHash keeps, keeps every distinct record, and names the record each duplicates', async () => {
    const near = (await curate({ records: all, judge: false, dedup: { near: 0.85 } }).expect(200)).body.run;
    expect(near.status).toBe('succeeded');
    expect((await records(near.output.dataset_id)).length).toBe(all.length);
    expect(near.output.report.duplicates).toEqual({ exact: 0, near: 0 });

    h.fake.reset();
    const run = (await curate({ records: all, judge: false, dedup: { near: 0.85, semantic: 0.9 } }).expect(200)).body.run;
    expect(run.status).toBe('succeeded');
    const { kept, dropped, rejected } = await duplicatesByText(run);
    expect(kept).toHaveLength(originals.length);
    expect(rejected).toHaveLength(paraphrases.length);
    // Each subject is kept once: of each pair, one is kept and the other names it.
    for (const [text, of] of Object.entries(dropped)) expect(pairOf.get(text)).toBe(of);
    for (const o of originals.slice(3)) expect(kept).toContain(o.question);
    for (const r of rejected) {
      expect(r.data.rejection).toMatchObject({ reason: 'semantic_duplicate', duplicate_of: expect.any(String) });
      expect(r.data.rejection.similarity).toBeGreaterThan(0.9);
      expect(r.data.rejection.similarity).toBeLessThanOrEqual(1);
    }
    const rep = await report(run.id);
    expect(rep).toMatchObject({
      records_in: all.length,
      kept: originals.length,
      rejected: { semantic_duplicate: paraphrases.length },
      duplicates: { exact: 0, near: 0, semantic: paraphrases.length, embedding: { kind: 'model', provider: 'openai', model: EMBEDDING_MODEL } },
      semantic: { threshold: 0.9, compared: all.length },
    });
    // Every text embedded once, the embedding calls counted in the run's usage.
    const inputs = embedCalls().flatMap((r: any) => r.body.input);
    expect(inputs).toHaveLength(all.length);
    expect(run.usage.requests).toBe(embedCalls().length);
    expect(judgeCalls()).toHaveLength(0);
  });

  it('keeps the better-rated record of a pair, whichever comes first', async () => {
    const rated = [
      { ...originals[0], curation: { rating: 3 } },
      { ...paraphrases[0], curation: { rating: 9 } },
      { ...originals[1], curation: { rating: 8 } },
      { ...paraphrases[1], curation: { rating: 2 } },
      { ...originals[2], rating: 4 },
      { ...paraphrases[2], rating: 6 },
      ...originals.slice(3),
    ];
    const run = (await curate({ dataset_id: await importSet(rated), judge: false, dedup: { semantic: 0.9 } }).expect(200)).body.run;
    const { kept, dropped } = await duplicatesByText(run);
    expect(kept).toEqual([paraphrases[0], originals[1], paraphrases[2], ...originals.slice(3)].map((r) => r.question).sort());
    expect(dropped).toEqual({
      [originals[0].question]: paraphrases[0].question,
      [paraphrases[1].question]: originals[1].question,
      [originals[2].question]: paraphrases[2].question,
    });
  });

  it('gives the same result for the same records in another input order', async () => {
    const once = await duplicatesByText((await curate({ records: all, judge: false, dedup: { semantic: 0.9 } }).expect(200)).body.run);
    const reversed = await duplicatesByText((await curate({ records: [...all].reverse(), judge: false, dedup: { semantic: 0.9 } }).expect(200)).body.run);
    const shuffled = await duplicatesByText((await curate({ dataset_id: await importSet([all[4], all[7], all[0], all[8], all[2], all[6], all[1], all[5], all[3]]), judge: false, dedup: { semantic: 0.9 } }).expect(200)).body.run);
    expect(reversed.kept).toEqual(once.kept);
    expect(reversed.dropped).toEqual(once.dropped);
    expect(shuffled.kept).toEqual(once.kept);
    expect(shuffled.dropped).toEqual(once.dropped);
  });

  it.each(TEACHER_MODES)('runs after exact dedup and before the judge: the judge sees only the survivors ($mode)', async ({ fake }) => {
    h.fake.reset();
    h.fake.configure({ schemaOnly: fake.schemaOnly === true });
    const run = (await curate({ records: [...all, { ...originals[4] }], threshold: 0, batch_size: 1, dedup: { exact: true, near: 0.85, semantic: 0.9 } }).expect(200)).body.run;
    expect(run.status).toBe('succeeded');
    expect(judgeCalls()).toHaveLength(originals.length);
    const judged = judgeCalls().map((r: any) => r.body.messages.at(-1).content as string);
    const { kept, rejected } = await duplicatesByText(run);
    expect(kept).toHaveLength(originals.length);
    for (const r of rejected.filter((x: any) => x.data.rejection.reason === 'semantic_duplicate')) expect(judged.some((p) => p.includes(r.data.question))).toBe(false);
    for (const q of kept) expect(judged.filter((p) => p.includes(q))).toHaveLength(1);
    expect(rejected.map((r: any) => r.data.rejection.reason).sort()).toEqual(['exact_duplicate', 'semantic_duplicate', 'semantic_duplicate', 'semantic_duplicate']);
    const rep = await report(run.id);
    expect(rep).toMatchObject({ records_in: all.length + 1, duplicates: { exact: 1, near: 0, semantic: 3 }, to_judge: originals.length, kept: originals.length });
    expect(run.usage.requests).toBe(embedCalls().length + originals.length);
    h.fake.configure({ schemaOnly: false });
  });

  it('a failed embeddings call costs a retry, not a record', async () => {
    h.fake.reset();
    h.fake.configure({ faults: [{ kind: '500', match: 'Last-Event-ID', times: 1 }] });
    // Texts no earlier test embedded, so the call is made (and fails once).
    const fresh = all.map((r) => ({ ...r, answer: `${r.answer} Retried.` }));
    const run = (await curate({ records: fresh, judge: false, dedup: { semantic: 0.9 } }).expect(200)).body.run;
    h.fake.configure({ faults: [] });
    expect(run).toMatchObject({ status: 'succeeded', progress: { failed: 0 } });
    expect(h.fake.stats().faults).toEqual({ '500': 1 });
    const { kept, rejected } = await duplicatesByText(run);
    expect(kept).toHaveLength(originals.length);
    expect(kept.length + rejected.length).toBe(all.length);
    // The failed call was made again (the SDK's retry), and nothing failed or was lost.
    expect(h.fake.stats().byPath['/v1/embeddings']).toBe(2);
    const events = (await readSse(`${h.url}${run.links.events}`)).events;
    expect(events.filter((e) => e.type === 'record.failed')).toEqual([]);
  });

  it('decides once over several stage and embed tasks, whose checks run side by side', async () => {
    // 1,000 records on their own made-up words and 60 word-reordered copies: 3 stage tasks, 5 embed tasks, 8 checks.
    const words = (i: number) => ['alpha', 'beta', 'gamma', 'delta'].map((w) => `${w}${i}x`);
    const distinct = Array.from({ length: 1000 }, (_, i) => ({ question: `Where is ${words(i).slice(0, 2).join(' ')} kept?`, answer: `In ${words(i).slice(2).join(' ')}.` }));
    const copies = distinct.slice(0, 60).map((_, i) => ({ question: `${words(i).slice(0, 2).reverse().join(' ')}: where kept?`, answer: `${words(i).slice(2).reverse().join(' ')}, in.` }));
    const run = (await curate({ dataset_id: await importSet([...distinct, ...copies]), judge: false, dedup: { semantic: 0.9 } }).expect(200)).body.run;
    expect(run.status).toBe('succeeded');
    const rep = await report(run.id);
    expect(rep).toMatchObject({ records_in: 1060, kept: 1000, rejected: { semantic_duplicate: 60 }, duplicates: { semantic: 60 }, semantic: { compared: 1060 } });
    const tasks = await rows<{ kind: string; n: number }>(h.quarry.database.db, sql`select kind, count(*)::int as n from tasks where run_id = ${run.id} group by kind order by kind`);
    // One pass task of duplicates and two of keeps: planned once, though every check could have planned them.
    expect(Object.fromEntries(tasks.map((t) => [t.kind, t.n]))).toEqual({ 'curate.pass': 3, 'curate.semantic': 8, 'curate.stage': 3, 'embed.batch': 5 });
  });

  it('works as a pipeline curate stage', async () => {
    const input = await importSet(all);
    const run = (await request(h.url).post('/v1/pipelines').set('Prefer', 'wait=60').send({ dataset_id: input, curate: { threshold: 0, dedup: { semantic: 0.9 } } }).expect(200)).body.run;
    expect(run.status).toBe('succeeded');
    const [stage] = run.output.report.stages;
    expect(stage.kind).toBe('curate');
    const curated = (await records(run.output.dataset_id)).map((r: any) => r.data.question).sort();
    expect(curated).toHaveLength(originals.length);
    for (const o of originals.slice(3)) expect(curated).toContain(o.question);
  });

  it('a dry run counts the embedding calls with the judge calls', async () => {
    const plan = (await request(h.url).post('/v1/curate').send({ records: all, batch_size: 5, dedup: { semantic: 0.9 }, dry_run: true }).expect(200)).body.plan;
    // One embedding call for 9 texts, two judge batches of at most 5 (an upper bound: duplicates make it fewer).
    expect(plan).toMatchObject({ teacher_calls: 3, report: { duplicates: { semantic: null, embedding: { kind: 'model', model: EMBEDDING_MODEL } } } });
    const lexical = (await request(h.url).post('/v1/curate').send({ records: all, batch_size: 5, dedup: { semantic: 0.9 }, embedding: 'lexical', dry_run: true }).expect(200)).body.plan;
    expect(lexical.teacher_calls).toBe(2);
  });

  it.each([
    ['a threshold below 0.7', 'dedup.semantic', { records: all, dedup: { semantic: 0.6 } }, ''],
    ['a threshold above 1', 'dedup.semantic', { records: all, dedup: { semantic: 1.2 } }, ''],
    ['embedding without semantic', 'embedding', { records: all, embedding: 'lexical' }, 'only applies with dedup.semantic'],
    ['an unknown embedding provider', 'embedding.provider', { records: all, dedup: { semantic: 0.9 }, embedding: { provider: 'nope' } }, 'unknown provider'],
    ['an Anthropic embedding provider', 'embedding.provider', { records: all, dedup: { semantic: 0.9 }, embedding: { provider: 'anthropic' } }, 'OpenAI-compatible'],
    ['tool-use records', 'dedup.semantic', { records: [singleStep(), singleStep()], dedup: { semantic: 0.9 } }, 'tool-use records'],
  ])('refuses %s with a 400 naming %s', async (_what, field, body, text) => {
    const res = await curate(body).expect(400);
    const detail = res.body.error.details.find((d: any) => d.field === field);
    expect(detail, JSON.stringify(res.body.error)).toBeDefined();
    expect(detail.message).toContain(text);
  });
});

describe.each(DATABASES)('POST /v1/curate with dedup.semantic and no embedding model (%s)', (db) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ db, fake: { latencyMs: 2 } });
  });
  afterAll(() => h?.close());

  it('falls back to lexical vectors, says so, and calls no embedding endpoint', async () => {
    h.fake.reset();
    const copies = [...originals, { question: originals[0].question, answer: `${originals[0].answer} Always.` }];
    const run = (await request(h.url).post('/v1/curate').set('Prefer', 'wait=60').send({ records: copies, judge: false, dedup: { semantic: 0.9 } }).expect(200)).body.run;
    expect(run.status, JSON.stringify(run.output.report)).toBe('succeeded');
    expect(h.fake.stats().requests).toBe(0);
    const rep = (await request(h.url).get(`/v1/runs/${run.id}`).expect(200)).body.run.output.report;
    expect(rep).toMatchObject({
      kept: originals.length,
      rejected: { semantic_duplicate: 1 },
      duplicates: { semantic: 1, embedding: { kind: 'lexical', method: 'hashed-char-ngrams-tfidf', reason: expect.stringContaining('no embedding model') } },
    });
    const rejected = (await request(h.url).get(`/v1/datasets/${run.output.rejected_dataset_id}/records`).expect(200)).body.records;
    expect(rejected.map((r: any) => r.data.rejection.duplicate_of)).toEqual([expect.stringMatching(/^r(0|6)$/)]);
  });
});
