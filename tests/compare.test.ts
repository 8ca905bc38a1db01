import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from './support/databases.js';
import { startHarness, type Harness } from './support/harness.js';
import { readSse } from './support/streams.js';
import { TEACHER_MODES } from './support/teacher-modes.js';

const TOPICS = [
  'what problem a task lease solves for workers', 'heartbeat intervals against lease expiry', 'exponential backoff with equal jitter', 'the transactional outbox pattern',
  'MVCC snapshots seen by long readers', 'autovacuum freezing old transaction ids', 'partial indexes over queued rows', 'streaming replicas falling behind',
  'per-key quotas on runs in flight', 'keyset cursors for paging records', 'batched commits sharing one fsync', 'noisy tenants starving the others',
];
const FORMS = [
  (t: string) => `What is ${t}?`, (t: string) => `How would you explain ${t} to a new engineer?`, (t: string) => `Why does ${t} matter in production?`,
  (t: string) => `When should an operator care about ${t}?`, (t: string) => `Which signals reveal trouble with ${t}?`, (t: string) => `Where does ${t} show up in a job queue?`,
  (t: string) => `Can you sketch a test for ${t}?`, (t: string) => `Should a small team worry about ${t}?`,
];
const answerAbout = (t: string, i: number) =>
  `In short, ${t} comes down to bounding how long one worker may hold work before another may take it over. ` +
  `Measure it in case ${i}, set the limit from the p99 of task time, and alert when retries climb above the baseline.`;

/**
 * The good dataset: 24 varied questions (eight question types, twelve subjects), full answers, six
 * sources. Half are written as Quarry's generators write them (`source`), half as the seed
 * Generator does (`source_file`, `chunk_id`, `generated_at`).
 */
const good = Array.from({ length: 24 }, (_, i) => {
  const t = TOPICS[i % 12];
  const pair = { question: FORMS[(i + Math.floor(i / 12)) % 8](t), answer: answerAbout(t, i) };
  return i < 12
    ? { ...pair, chunk_id: `guide_s${i}`, source: `chapter-${i % 3}.md`, model: 'gpt-4o-mini' }
    : { ...pair, chunk_id: `handbook_s${i}`, source_file: `handbook-${i % 3}.md`, generated_at: '2026-11-30T10:00:00Z', model: 'qwen2.5-7b' };
});
/** The degraded copy: six questions repeated four times, answers cut at 30 characters, one source. */
const degraded = Array.from({ length: 24 }, (_, i) => ({ question: good[i % 6].question, answer: good[i % 6].answer.slice(0, 30), source: 'everything.md' }));

const labels = (n: number) => Array.from({ length: n }, (_, i) => `s${i + 1}`);
const scored = (score: number, reason: string) => Object.fromEntries(labels(10).map((l) => [l, { score, reason }]));
/** A real judge's opinion of each sample: the fake cannot read quality, so its verdicts are pinned. */
const JUDGE_PINS = [
  { match: 'Dataset "degraded"', values: { scores: scored(2, 'The answer stops mid-sentence.'), strengths: ['on topic'], weaknesses: ['answers cut off', 'the same questions again and again'] } },
  { match: 'Dataset "good"', values: { scores: scored(9, 'Clear question, complete answer.'), strengths: ['varied questions', 'complete answers'], weaknesses: ['few examples'] } },
];
const DECISION_PIN = { match: 'Metrics per dataset', values: { winner: 'good', reasoning: 'good scores 9 against 2 and has no duplicates.' } };

async function importDataset(h: Harness, name: string, records: unknown[], auth?: string) {
  const req = request(h.url).post('/v1/datasets');
  return (await (auth ? req.set('authorization', auth) : req).send({ name, records }).expect(201)).body.dataset.id as string;
}
const compare = (h: Harness, body: Record<string, unknown>) => request(h.url).post('/v1/compare').set('Prefer', 'wait=60').send(body);
const reportOf = (run: any) => run.output.report;
const byLabel = (report: any, label: string) => report.datasets.find((d: any) => d.label === label);

describe.each(DATABASES)('POST /v1/compare (%s)', (db) => {
  describe.each(TEACHER_MODES)('with $mode', ({ fake }) => {
    let h: Harness;
    let goodId: string;
    let degradedId: string;
    beforeAll(async () => {
      h = await startHarness({ db, fake });
      goodId = await importDataset(h, 'good', good);
      degradedId = await importDataset(h, 'degraded', degraded);
    });
    afterAll(() => h?.close());

    it('picks the good dataset over a degraded copy, with metric reasons and judge reasons', async () => {
      h.fake.configure({ pins: [...JUDGE_PINS, DECISION_PIN] });
      const run = (await compare(h, { dataset_ids: [degradedId, goodId], sample_size: 10, seed: 1 }).expect(200)).body.run;
      expect(run).toMatchObject({ kind: 'compare', status: 'succeeded', progress: { records: 0 } });
      expect(run.output.dataset_id).toBeUndefined();
      expect(run.links.dataset).toBeUndefined();
      const report = reportOf(run);
      expect(report.decision).toMatchObject({ winner: 'good', winner_dataset_id: goodId, decided_by: 'judge', model: 'gpt-4o-mini' });
      expect(report.decision.alternatives).toEqual(expect.any(Array));
      // Metric reasons: the good dataset wins on duplicates, sources, question types and answer length.
      const wins = Object.fromEntries(report.metric_reasons.map((r: any) => [r.metric, r.winner]));
      expect(wins).toMatchObject({ duplicate_rate: 'good', distinct_sources: 'good', question_type_diversity: 'good', answer_chars_median: 'good' });
      // Judge reasons: best mean first, with what the judge named.
      expect(report.judge_reasons.map((j: any) => [j.label, j.mean_score])).toEqual([['good', 9], ['degraded', 2]]);
      expect(report.judge_reasons[1].weaknesses).toContain('answers cut off');
      const g = byLabel(report, 'good').metrics;
      const d = byLabel(report, 'degraded').metrics;
      expect(g).toMatchObject({ count: 24, duplicates: { exact: 0, near: 0, rate: 0 }, question_types: { distinct_first_words: 8 } });
      expect(d).toMatchObject({ count: 24, duplicates: { exact: 18, rate: 0.75 }, sources: { distinct: 1, fields: ['source'] }, question_types: { distinct_first_words: 6 } });
      expect(d.answer_chars).toMatchObject({ max: 30, median: 30 });
      expect(g.answer_chars.min).toBeGreaterThan(150);
      expect(g.semantic_diversity).toBeGreaterThan(d.semantic_diversity);
      expect(report.embedding).toMatchObject({ kind: 'lexical', method: 'hashed-char-ngrams-tfidf' });
      expect(report.embedding.note).toContain('lexical fallback');
      // One judge call per dataset over its sample of 10, and one decision call.
      const schemas = h.fake.requests().map((r: any) => r.body?.response_format?.json_schema?.name);
      expect(schemas.filter((s) => s === 'sample_scores')).toHaveLength(2);
      expect(schemas.filter((s) => s === 'decision')).toHaveLength(1);
      const decision = h.fake.requests().find((r: any) => r.body?.response_format?.json_schema?.name === 'decision')!.body as any;
      // The winner is schema-forced to a label, so even a schema-only teacher names a dataset that exists.
      expect(decision.response_format.json_schema.schema.properties.winner.anyOf.map((s: any) => s.const)).toEqual(['degraded', 'good']);
      expect(decision.messages.at(-1).content).toContain('"duplicate_rate":0.75');
    });

    it('falls back to the highest mean judge score when the decision call fails, and says why', async () => {
      h.fake.reset();
      // Every answer to the decision is broken JSON: the call fails for good after its re-asks.
      h.fake.configure({ pins: JUDGE_PINS, faults: [{ kind: 'malformed', match: 'Metrics per dataset' }] });
      const run = (await compare(h, { dataset_ids: [degradedId, goodId] }).expect(200)).body.run;
      expect(run.status).toBe('succeeded');
      const report = reportOf(run);
      expect(report.decision).toMatchObject({ winner: 'good', decided_by: 'fallback', error: { category: 'json' } });
      expect(report.decision.reasoning).toContain('highest mean judge score (9)');
      expect(report.judge_reasons.map((j: any) => j.label)).toEqual(['good', 'degraded']);
      // Three attempts of the task (max_attempts 3), each asking three times, before the fallback.
      expect(h.fake.stats().faults.malformed).toBe(9);
    });

    it('fails the run when a judgment cannot be had, rather than counting it as 0', async () => {
      h.fake.reset();
      h.fake.configure({ pins: [], faults: [{ kind: 'schema', match: 'Dataset "degraded"' }] });
      const run = (await compare(h, { dataset_ids: [degradedId, goodId], max_attempts: 1 }).expect(200)).body.run;
      expect(run.status).toBe('failed');
      expect(run.output.report.decision).toBeUndefined();
      h.fake.configure({ faults: [] });
    });

    it('draws the same sample for the same seed, another for another seed', async () => {
      h.fake.reset();
      const sampled = async (seed: number) => {
        const run = (await compare(h, { dataset_ids: [goodId, degradedId], seed, sample_size: 5 }).expect(200)).body.run;
        return byLabel(reportOf(run), 'good').judgment.scores.map((s: any) => s.key);
      };
      const first = await sampled(3);
      expect(first).toHaveLength(5);
      expect(await sampled(3)).toEqual(first);
      expect(await sampled(4)).not.toEqual(first);
      // The judge saw exactly the sampled records, labelled s1..s5.
      const prompt = (h.fake.requests().find((r: any) => (r.body as any)?.messages?.at(-1)?.content?.includes('Dataset "good"'))!.body as any).messages.at(-1).content;
      expect(prompt).toContain('[s5]');
      expect(prompt).not.toContain('[s6]');
    });
  });
});

describe.each(DATABASES)('compare metrics, views and refusals (%s)', (db) => {
  let h: Harness;
  let goodId: string;
  let degradedId: string;
  beforeAll(async () => {
    h = await startHarness({ db, env: { API_KEYS: 'key-a,key-b' } });
    goodId = await importDataset(h, 'good', good, 'Bearer key-a');
    degradedId = await importDataset(h, 'degraded', degraded, 'Bearer key-a');
  });
  afterAll(() => h?.close());
  const post = (body: Record<string, unknown>, key = 'key-a') => request(h.url).post('/v1/compare').set('authorization', `Bearer ${key}`).set('Prefer', 'wait=60').send(body);

  it('decides by the metrics with judge: false, without a teacher call', async () => {
    h.fake.reset();
    const run = (await post({ dataset_ids: [goodId, degradedId], judge: false }).expect(200)).body.run;
    expect(run.status).toBe('succeeded');
    expect(h.fake.stats().completions).toBe(0);
    const report = reportOf(run);
    expect(report.decision).toMatchObject({ winner: 'good', decided_by: 'metrics', winner_dataset_id: goodId });
    expect(report.judge_reasons).toEqual([]);
    expect(report.datasets.every((d: any) => d.judgment === null)).toBe(true);
  });

  it('measures semantic diversity with an embedding model, deciding once every embedding is in', async () => {
    h.fake.reset();
    const body = { dataset_ids: [goodId, degradedId], judge: false, embedding: { provider: 'openai', model: 'text-embedding-3-small' } };
    const run = (await post(body).expect(200)).body.run;
    expect(run.status).toBe('succeeded');
    const report = reportOf(run);
    expect(report.embedding).toEqual({ kind: 'model', provider: 'openai', model: 'text-embedding-3-small' });
    expect(h.fake.stats().byPath['/v1/embeddings']).toBeGreaterThan(0);
    expect(run.usage.requests).toBe(h.fake.stats().byPath['/v1/embeddings']);
    const g = byLabel(report, 'good').metrics.semantic_diversity;
    const d = byLabel(report, 'degraded').metrics.semantic_diversity;
    expect(g).toBeGreaterThan(d);
    expect(d).toBe(0);
    expect(report.semantic_diversity_sample).toBe(24);
    // Stored vectors are reused: the same comparison again embeds nothing.
    h.fake.reset();
    const again = (await post(body).expect(200)).body.run;
    expect(reportOf(again).datasets.map((x: any) => x.metrics.semantic_diversity)).toEqual([g, d]);
    expect(h.fake.stats().byPath['/v1/embeddings'] ?? 0).toBe(0);
  });

  it('measures semantic diversity on samples of one size, so a bigger dataset is not less diverse for its size alone', async () => {
    // 48 records: the good ones and 24 more of the same kinds. Nearest neighbours are nearer in a
    // bigger set, so both datasets are measured on 24 records (the smaller count), seeded.
    const more = good.map((r, i) => ({ ...r, question: `${r.question} (variant ${i})` }));
    const biggerId = await importDataset(h, 'bigger', [...good, ...more], 'Bearer key-a');
    const body = { dataset_ids: [goodId, biggerId], judge: false, embedding: { provider: 'openai', model: 'text-embedding-3-small' }, seed: 3 };
    const first = reportOf((await post(body).expect(200)).body.run);
    expect(first.semantic_diversity_sample).toBe(24);
    const alone = reportOf((await post({ ...body, dataset_ids: [goodId, degradedId] }).expect(200)).body.run);
    // The good dataset's figure is the same whichever dataset it is compared with (both samples are all of it).
    expect(byLabel(first, 'good').metrics.semantic_diversity).toBe(byLabel(alone, 'good').metrics.semantic_diversity);
    const bigger = byLabel(first, 'bigger').metrics.semantic_diversity;
    expect(bigger).toBeGreaterThan(0);
    // The same seed measures the same sample; another seed may pick other records, never fails.
    const again = reportOf((await post(body).expect(200)).body.run);
    expect(byLabel(again, 'bigger').metrics.semantic_diversity).toBe(bigger);
  });

  it('counts distinct sources from the fields records carry, as counted by hand', async () => {
    const mixed = [
      ...good.slice(0, 6),
      ...good.slice(12, 18),
      { messages: [{ role: 'user', content: 'What does VACUUM reclaim?' }, { role: 'assistant', content: 'The space of dead tuples.' }], source: 'maintenance.md' },
      { question: 'What is a chunk?', answer: 'A passage of a document.', metadata: { source_file: 'chunking.md', chunk_id: 'c1' } },
      { question: 'Is this sourced?', answer: 'No: it has no source field.' },
      { question: 'What is a topic path?', answer: 'Root to leaf.', topic_path: ['Postgres', 'Maintenance'] },
      { question: 'And another?', answer: 'A second path.', topic_path: ['Postgres', 'Replication'] },
      { question: 'And a third?', answer: 'The first path again.', topic_path: 'Postgres → Maintenance' },
    ];
    const byHand = new Set(mixed.map((r: any) => r.source ?? r.source_file ?? r.metadata?.source_file).filter((s) => s !== undefined));
    const mixedId = await importDataset(h, 'mixed', mixed, 'Bearer key-a');
    const bare = await importDataset(h, 'bare', good.map(({ question, answer }) => ({ question, answer })), 'Bearer key-a');
    const run = (await post({ dataset_ids: [mixedId, bare], judge: false }).expect(200)).body.run;
    const m = byLabel(reportOf(run), 'mixed').metrics;
    expect(m.sources).toEqual({ distinct: byHand.size, fields: ['metadata.source_file', 'source', 'source_file'], share_with_source: expect.any(Number) });
    expect(byHand.size).toBe(3 + 3 + 2);
    expect(m.topics).toEqual({ distinct_paths: 2, distinct_top_level: 1, share_with_path: expect.any(Number) });
    const b = byLabel(reportOf(run), 'bare').metrics;
    expect(b.sources.distinct).toBeNull();
    expect(b.sources.note).toContain('no record carries a source');
    expect(b.topics).toBeNull();
  });

  it('renders the report as markdown for a CI log, and as JSON', async () => {
    const run = (await post({ dataset_ids: [goodId, degradedId], judge: false }).expect(200)).body.run;
    const md = await request(h.url).get(`/v1/runs/${run.id}/report?format=markdown`).set('authorization', 'Bearer key-a').expect(200);
    expect(md.headers['content-type']).toContain('text/markdown');
    expect(md.text).toContain('**Winner: good**');
    expect(md.text).toContain('| metric | good | degraded |');
    expect(md.text).toMatch(/\| duplicate rate \(exact \+ near\) \| 0% \(0 \+ 0\) \| 75% \(18 \+ 0\) \|/);
    expect(md.text).toContain('## Metric reasons');
    expect(md.text).toContain('- duplicate_rate: good: fewest exact and near duplicates');
    const json = await request(h.url).get(`/v1/runs/${run.id}/report`).set('authorization', 'Bearer key-a').expect(200);
    expect(json.body).toMatchObject({ run_id: run.id, kind: 'compare', status: 'succeeded', report: { decision: { winner: 'good' } } });
    await request(h.url).get(`/v1/runs/${run.id}/report?format=markdown`).set('authorization', 'Bearer key-b').expect(404);
  });

  it('streams compare.completed with the report', async () => {
    const started = (await request(h.url).post('/v1/compare').set('authorization', 'Bearer key-a').send({ dataset_ids: [goodId, degradedId], judge: false }).expect(202)).body.run;
    const { events } = await readSse(`${h.url}/v1/runs/${started.id}/events`, { authorization: 'Bearer key-a' }, { until: (e) => e.type === 'run.succeeded' || e.type === 'run.failed' });
    const completed = events.find((e) => e.type === 'compare.completed');
    expect(completed?.data.decision).toMatchObject({ winner: 'good', decided_by: 'metrics' });
    expect(events.filter((e) => e.type === 'compare.metrics').map((e) => e.data.label).sort()).toEqual(['degraded', 'good']);
    expect(events.at(-1)!.type).toBe('run.succeeded');
  });

  it.each([
    ['one dataset', () => ({ dataset_ids: [goodId] }), 'dataset_ids'],
    ['the same dataset twice', () => ({ dataset_ids: [goodId, goodId] }), 'dataset_ids.1'],
    ['an unknown dataset', () => ({ dataset_ids: [goodId, 'ds_00000000000000000000beef'] }), 'dataset_ids.1'],
    ['labels that do not match', () => ({ dataset_ids: [goodId, degradedId], labels: ['a', 'b', 'c'] }), 'labels'],
    ['a sample over 50', () => ({ dataset_ids: [goodId, degradedId], sample_size: 51 }), 'sample_size'],
    ['judge options with judge: false', () => ({ dataset_ids: [goodId, degradedId], judge: false, llm: { model: 'x' } }), 'llm'],
    ['an unknown provider', () => ({ dataset_ids: [goodId, degradedId], llm: { provider: 'nope' } }), 'llm.provider'],
    ['an unknown embedding provider', () => ({ dataset_ids: [goodId, degradedId], embedding: { provider: 'nope' } }), 'embedding.provider'],
  ])('answers 400 naming the field for %s', async (_label, body, field) => {
    const res = await post(body()).expect(400);
    expect(res.body.error.details.map((d: any) => d.field)).toContain(field);
  });

  it("refuses another owner's dataset as if it did not exist", async () => {
    const theirs = await importDataset(h, 'theirs', good, 'Bearer key-b');
    const res = await post({ dataset_ids: [goodId, theirs] }).expect(400);
    expect(res.body.error.details).toEqual([{ field: 'dataset_ids.1', message: `no dataset ${theirs}` }]);
  });

  it('answers a dry run with the judge and decision calls', async () => {
    const res = await post({ dataset_ids: [goodId, degradedId], sample_size: 5, dry_run: true }).expect(200);
    expect(res.body.plan).toMatchObject({ kind: 'compare', tasks: 2, teacher_calls: 3 });
  });
});

describe.each(DATABASES)('the compare stage of a pipeline (%s)', (db) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ db, fake: { latencyMs: 1 } });
  });
  afterAll(() => h?.close());

  it('compares the input with what curate kept, and the pipeline keeps the curated dataset', async () => {
    const input = await importDataset(h, 'raw', [...good, ...degraded]);
    const res = await request(h.url).post('/v1/pipelines').set('Prefer', 'wait=60')
      .send({ dataset_id: input, curate: { judge: false, dedup: { exact: true } }, compare: { judge: false } }).expect(200);
    const pipeline = res.body.run;
    expect(pipeline.status).toBe('succeeded');
    const stages = pipeline.output.report.stages;
    expect(stages.map((s: any) => s.kind)).toEqual(['curate', 'compare']);
    const curated = stages[0].dataset_id;
    expect(pipeline.output.dataset_id).toBe(curated);
    const stageRun = (await request(h.url).get(`/v1/runs/${stages[1].run_id}`).expect(200)).body.run;
    const report = reportOf(stageRun);
    expect(report.datasets.map((d: any) => [d.label, d.dataset_id, d.metrics.count])).toEqual([['input', input, 48], ['curate', curated, 30]]);
    expect(report.decision).toMatchObject({ winner: 'curate', decided_by: 'metrics' });
  });

  it('refuses a compare stage with fewer than two datasets', async () => {
    const input = await importDataset(h, 'raw', good);
    const res = await request(h.url).post('/v1/pipelines').send({ dataset_id: input, compare: {} }).expect(400);
    expect(res.body.error.details.map((d: any) => d.field)).toContain('compare');
  });
});
