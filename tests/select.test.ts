import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from './support/databases.js';
import { startHarness, type Harness } from './support/harness.js';
import { answersByItem, answerTo, reportedUsage, TEACHER_MODES } from './support/teacher-modes.js';

/** Four clearly separate subjects, four records each: what coverage must pick from. */
const SUBJECTS = [
  ['Postgres vacuum', 'dead tuples', 'autovacuum thresholds', 'table bloat'],
  ['TCP congestion control', 'slow start', 'congestion window', 'packet loss'],
  ['Rust borrow checker', 'lifetimes', 'mutable references', 'ownership moves'],
  ['Kubernetes pod scheduling', 'node affinity', 'taints and tolerations', 'resource requests'],
];
const qa = SUBJECTS.flatMap(([subject, ...terms], c) =>
  terms.concat(subject).map((term, i) => ({
    question: `In ${subject}, what role do ${term} play (case ${c}.${i})?`,
    answer: `${term} matter to ${subject}: ${subject} uses ${term} so that ${subject} keeps working.`,
  })),
);
const subjectOf = (question: string) => SUBJECTS.findIndex(([s]) => question.includes(s));
const MODEL_EMBEDDINGS = { EMBEDDING_PROVIDER: 'openai', EMBEDDING_MODEL: 'text-embedding-3-small' };

/** A QA record as the score prompt shows it under its label. */
const itemText = (p: { question: string; answer: string }) => `Question: ${p.question}\nAnswer: ${p.answer}`;
const mean3 = (q: any) => Math.round(((q.clarity + q.accuracy + q.usefulness) / 3) * 1e4) / 1e4;

function client(h: Harness) {
  const select = (body: Record<string, unknown>) => request(h.url).post('/v1/select').set('Prefer', 'wait=60').send(body);
  const records = async (id: string): Promise<any[]> => (await request(h.url).get(`/v1/datasets/${id}/records?limit=1000`).expect(200)).body.records;
  const dataset = async (rs: unknown[]) => (await request(h.url).post('/v1/datasets').send({ name: 'qa', records: rs }).expect(201)).body.dataset.id as string;
  /** A run that must succeed, with both its datasets read back. */
  const run = async (body: Record<string, unknown>) => {
    const res = await select(body);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const r = res.body.run;
    expect(r.status, JSON.stringify(r.output)).toBe('succeeded');
    const report = (await request(h.url).get(`/v1/runs/${r.id}`).expect(200)).body.run.output.report;
    return { run: r, report, selected: await records(r.output.dataset_id), unselected: await records(r.output.unselected_dataset_id) };
  };
  return { select, records, dataset, run };
}

const byQuestion = (rs: any[], field: string) => Object.fromEntries(rs.map((r) => [r.data.question, r.data[field]]));

describe.each(DATABASES.flatMap((db) => TEACHER_MODES.map((m) => ({ db, ...m }))))('POST /v1/select, judged, on $db with $mode', ({ db, fake }) => {
  let h: Harness;
  let api: ReturnType<typeof client>;
  beforeAll(async () => {
    h = await startHarness({ db, fake, env: MODEL_EMBEDDINGS });
    api = client(h);
  });
  afterAll(() => h?.close());

  it('stores the teacher’s scores per record under its own label, with diversity and the weighted combination', async () => {
    h.fake.reset();
    const { run, selected, unselected } = await api.run({ records: qa, strategy: 'top_k', target: 3, batch_size: 4, weights: { complexity: 2, quality: 1, diversity: 1 } });
    const answers = answersByItem(h.fake.requests(), 'select_scores');
    expect(run.usage).toMatchObject(reportedUsage(h.fake.requests()));
    for (const r of [...selected, ...unselected]) {
      const given = answerTo(answers, itemText(r.data));
      const m = r.data.multi_score;
      expect(m).toMatchObject({ complexity: (given.complexity as any).complexity, quality: mean3(given.quality), judge_model: 'gpt-4o-mini', weights: { complexity: 0.5, quality: 0.25, diversity: 0.25 } });
      expect(m.complexity_detail.cognitive_type).toBe((given.complexity as any).cognitive_type);
      expect(m.diversity).toBeGreaterThanOrEqual(0);
      expect(m.diversity).toBeLessThanOrEqual(10);
      expect(m.combined).toBeCloseTo(0.5 * m.complexity + 0.25 * m.quality + 0.25 * m.diversity, 3);
      expect(m.embedding).toBe('openai/text-embedding-3-small');
    }
  });
});

describe.each(DATABASES)('POST /v1/select on %s', (db) => {
  let h: Harness;
  let api: ReturnType<typeof client>;
  let source: string;
  let backward: string;
  beforeAll(async () => {
    h = await startHarness({ db, fake: { latencyMs: 2 }, env: MODEL_EMBEDDINGS });
    api = client(h);
    source = await api.dataset(qa);
    backward = await api.dataset([...qa].reverse());
  });
  afterAll(() => h?.close());

  it.each([
    { strategy: 'deita', target: 6, threshold: 0.95 },
    { strategy: 'top_k', target: 5, score_by: 'quality' },
    { strategy: 'coverage', target: 4, pick: 'diverse' },
  ])('(a teacher that answers the same prompt alike) gives the same selection and scores for the same records imported in two orders: %j', async (options) => {
    const a = await api.run({ dataset_id: source, ...options });
    const b = await api.run({ dataset_id: backward, ...options });
    const field = options.strategy === 'coverage' ? 'coverage' : 'multi_score';
    expect(a.selected.map((r) => r.data.question).sort()).toEqual(b.selected.map((r) => r.data.question).sort());
    expect(byQuestion([...a.selected, ...a.unselected], field)).toEqual(byQuestion([...b.selected, ...b.unselected], field));
    expect(a.selected).toHaveLength(options.target);
    expect(a.report.selection).toEqual(b.report.selection);
  });


  it('deita skips a paraphrase of a record it selected and says why', async () => {
    const best = {
      question: 'Why does the Postgres query planner choose a hash join over a nested loop, and how do the trade-offs change when both tables grow far larger than memory?',
      answer: 'Because a hash join reads each table once, for example when both are large, while a nested loop repeats the inner scan for every outer row, which is cheap only for small inputs.',
    };
    const paraphrase = {
      question: 'How do the trade-offs between a hash join and a nested loop change when both tables grow far larger than memory, and why does the Postgres planner choose the hash join?',
      answer: 'Because a hash join reads each table only once, for example when both tables are large, whereas a nested loop repeats the inner scan for every outer row and is cheap only for small inputs.',
    };
    const input = [paraphrase, ...qa.slice(0, 6), best];
    const twins = new Set([best.question, paraphrase.question]);
    const body = { records: input, strategy: 'deita', target: 3, judge: false, weights: { complexity: 1, quality: 1 } };
    const { report, selected, unselected } = await api.run({ ...body, threshold: 0.8 });
    // Both score highest (a why/how question with a complex term, over 20 words; a long answer that explains).
    expect(selected.filter((r) => twins.has(r.data.question))).toHaveLength(1);
    const skipped = unselected.find((r) => twins.has(r.data.question));
    expect(skipped.data.multi_score.combined).toBeGreaterThan(Math.max(...selected.filter((r) => !twins.has(r.data.question)).map((r) => r.data.multi_score.combined)));
    expect(skipped.data.selection).toEqual({ reason: 'too_similar' });
    expect(report.selection).toMatchObject({ threshold: 0.8, threshold_skips: 1, selected: 3 });
    // With no threshold the paraphrase is taken too: it is its similarity that kept it out.
    const loose = await api.run({ ...body, threshold: 1 });
    expect(loose.selected.filter((r) => twins.has(r.data.question))).toHaveLength(2);
  });

  it.each([
    { target: 4, pick: 'centroid', k: 4 },
    { target: 4, pick: 'diverse', k: 4 },
    { target: 9, pick: 'centroid', k: 6 },
  ])('coverage picks from every cluster of a clustered set, k = max(2, min(n, 2√target)): %j', async ({ target, pick, k }) => {
    h.fake.reset();
    const { report, selected, unselected } = await api.run({ dataset_id: source, strategy: 'coverage', target, pick });
    expect(h.fake.stats().byPath['/v1/chat/completions'] ?? 0).toBe(0);
    expect(selected).toHaveLength(target);
    expect(new Set(selected.map((r) => subjectOf(r.data.question)))).toEqual(new Set([0, 1, 2, 3]));
    expect(report.selection).toMatchObject({ k, pick, strategy: 'coverage', clusters_without_selection: 0 });
    for (const r of [...selected, ...unselected]) expect(r.data.coverage).toMatchObject({ k, strategy: pick, cluster_id: expect.any(Number) });
    // Records of one subject share a cluster when there are as many clusters as subjects.
    if (k === 4) {
      for (const s of [0, 1, 2, 3]) expect(new Set([...selected, ...unselected].filter((r) => subjectOf(r.data.question) === s).map((r) => r.data.coverage.cluster_id)).size).toBe(1);
    }
  });

  it.each(['combined', 'complexity', 'quality', 'diversity'])('top_k by %s takes the records scoring highest on it; the rest are unselected', async (scoreBy) => {
    const { selected, unselected } = await api.run({ dataset_id: source, strategy: 'top_k', target: 5, score_by: scoreBy });
    expect(selected).toHaveLength(5);
    expect(unselected).toHaveLength(qa.length - 5);
    const lowestTaken = Math.min(...selected.map((r) => r.data.multi_score[scoreBy]));
    const highestLeft = Math.max(...unselected.map((r) => r.data.multi_score[scoreBy]));
    expect(lowestTaken).toBeGreaterThanOrEqual(highestLeft);
    expect(new Set([...selected, ...unselected].map((r) => r.key)).size).toBe(qa.length);
    for (const r of unselected) expect(r.data.selection).toEqual({ reason: 'not_in_top_k' });
  });

  it('top_k by rating ranks by the records’ curation rating; min_score keeps low combined scores out', async () => {
    const rated = await api.dataset(qa.map((r, i) => ({ ...r, curation: { rating: i % 10 } })));
    const { selected } = await api.run({ dataset_id: rated, strategy: 'top_k', target: 2, score_by: 'rating', judge: false });
    expect(selected.map((r) => r.data.curation.rating).sort()).toEqual([8, 9]);
    const floor = await api.run({ dataset_id: source, strategy: 'top_k', target: 20, min_score: 5, judge: false });
    for (const r of floor.selected) expect(r.data.multi_score.combined).toBeGreaterThanOrEqual(5);
    for (const r of floor.unselected) expect(r.data.selection).toEqual({ reason: 'below_min_score' });
    expect(floor.selected.length + floor.unselected.length).toBe(qa.length);
  });

  it('the heuristic makes no teacher call and scores as documented', async () => {
    h.fake.reset();
    const records = [
      { question: 'Why does the borrow checker reject two mutable references to one value?', answer: 'Because two writers could race; for example one could free the value while the other still holds it.' },
      { question: 'What is a pod?', answer: 'A group of containers.' },
    ];
    const { run, report, selected, unselected } = await api.run({ records, strategy: 'top_k', target: 1, judge: false, embedding: 'lexical' });
    expect(h.fake.stats().requests).toBe(0);
    expect(report).toMatchObject({ scoring: 'heuristic', embedding: { kind: 'lexical', reason: expect.stringContaining('requested') } });
    expect(report.selection.embedding).toMatchObject({ kind: 'lexical', note: expect.stringContaining('no embedding model') });
    expect(run.usage.requests ?? 0).toBe(0);
    const scores = byQuestion([...selected, ...unselected], 'multi_score');
    // 4, +2 for "why" (no complex term, 20 words or fewer): 6; an answer of 50–199 characters: 6, +1 for "because": 7.
    expect(scores[records[0].question]).toMatchObject({ complexity: 6, quality: 7, judge_model: 'heuristic', diversity: expect.any(Number) });
    expect(scores[records[0].question].embedding).toMatch(/^lexical/);
    // 4 (no reasoning word or complex term); an answer under 50 characters: 4.
    expect(scores[records[1].question]).toMatchObject({ complexity: 4, quality: 4 });
    expect(selected[0].data.question).toBe(records[0].question);
  });

  it('a teacher fault costs a retry, not a record', async () => {
    h.fake.reset();
    h.fake.configure({ faults: [{ kind: '500', times: 2 }, { kind: 'misalign', match: 'case 1.', times: 1 }] });
    const { run, selected, unselected } = await api.run({ records: qa, strategy: 'deita', target: 4, batch_size: 4 });
    expect(h.fake.stats().faults).toMatchObject({ '500': 2, misalign: 1 });
    expect(selected.length + unselected.length).toBe(qa.length);
    for (const r of [...selected, ...unselected]) expect(r.data.multi_score.judge_model).toBe('gpt-4o-mini');
    expect(run.progress.failed).toBe(0);
  });
});

describe('POST /v1/select: bad input, dry run and as a pipeline stage', () => {
  let h: Harness;
  let api: ReturnType<typeof client>;
  beforeAll(async () => {
    h = await startHarness({ db: 'pglite', fake: { latencyMs: 2 } });
    api = client(h);
  });
  afterAll(() => h?.close());

  const two = qa.slice(0, 2);
  it.each([
    [{ strategy: 'deita', target: 1 }, 'dataset_id', 'exactly one'],
    [{ records: two, target: 1 }, 'strategy', ''],
    [{ records: two, strategy: 'deita' }, 'target', ''],
    [{ records: two, strategy: 'deita', target: 0 }, 'target', ''],
    [{ records: two, strategy: 'deita', target: 1, pick: 'diverse' }, 'pick', 'does not apply to strategy deita'],
    [{ records: two, strategy: 'deita', target: 1, score_by: 'quality' }, 'score_by', 'does not apply to strategy deita'],
    [{ records: two, strategy: 'top_k', target: 1, threshold: 0.8 }, 'threshold', 'does not apply to strategy top_k'],
    [{ records: two, strategy: 'coverage', target: 1, judge: true }, 'judge', 'does not apply to strategy coverage'],
    [{ records: two, strategy: 'coverage', target: 1, weights: { quality: 1 } }, 'weights', 'does not apply'],
    [{ records: two, strategy: 'deita', target: 1, weights: { complexity: 0, quality: 0 } }, 'weights', 'all weights are 0'],
    [{ records: two, strategy: 'deita', target: 1, judge: false, llm: { model: 'x' } }, 'llm', 'only applies when the teacher scores'],
    [{ records: two, strategy: 'deita', target: 1, llm: { provider: 'nope' } }, 'llm.provider', 'unknown provider'],
    [{ records: [two[0], { foo: 'bar' }], strategy: 'deita', target: 1 }, 'records.1', 'no text to embed or score'],
    [{ records: two, strategy: 'top_k', target: 1, score_by: 'rating' }, 'records.0', 'no curation.rating'],
    [{ records: two, strategy: 'deita', target: 1, embedding: { provider: 'nope' } }, 'embedding.provider', 'unknown provider'],
    [{ dataset_id: 'ds_000000000000000000000000', strategy: 'deita', target: 1 }, 'dataset_id', 'no dataset'],
  ])('rejects %j naming %s', async (body, field, text) => {
    const res = await api.select(body).expect(400);
    const detail = res.body.error.details.find((d: any) => d.field === field);
    expect(detail, JSON.stringify(res.body.error)).toBeDefined();
    expect(detail.message).toContain(text);
  });

  it('a dry run counts one teacher call per batch, none for coverage or the heuristic', async () => {
    const judged = (await api.select({ records: qa, strategy: 'deita', target: 3, batch_size: 4, dry_run: true }).expect(200)).body.plan;
    expect(judged).toMatchObject({ kind: 'select', tasks: 4, teacher_calls: 4, report: { records_in: qa.length, scoring: 'teacher', embedding: { kind: 'lexical' } } });
    expect(judged.estimated_input_tokens).toBeGreaterThan(0);
    const coverage = (await api.select({ records: qa, strategy: 'coverage', target: 3, dry_run: true }).expect(200)).body.plan;
    expect(coverage).toMatchObject({ teacher_calls: 0, report: { scoring: 'none' } });
    const heuristic = (await api.select({ records: qa, strategy: 'top_k', target: 3, judge: false, dry_run: true }).expect(200)).body.plan;
    expect(heuristic).toMatchObject({ teacher_calls: 0, report: { scoring: 'heuristic' } });
  });

  it('runs as a pipeline stage after curate, on the curated records', async () => {
    const input = await api.dataset(qa);
    const res = await request(h.url).post('/v1/pipelines').set('Prefer', 'wait=60').send({ dataset_id: input, curate: { threshold: 0 }, select: { strategy: 'coverage', target: 4 } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const done = res.body.run;
    expect(done.status).toBe('succeeded');
    expect(done.output.report.stages.map((s: any) => [s.kind, s.status])).toEqual([['curate', 'succeeded'], ['select', 'succeeded']]);
    const selected = await api.records(done.output.dataset_id);
    expect(selected).toHaveLength(4);
    for (const r of selected) expect(r.data).toMatchObject({ curation: { rating: expect.any(Number) }, coverage: { k: 4, strategy: 'centroid' } });
    const bad = await request(h.url).post('/v1/pipelines').send({ dataset_id: input, select: { strategy: 'deita', target: 2, pick: 'diverse' } }).expect(400);
    expect(bad.body.error.details).toContainEqual({ field: 'select.pick', message: expect.stringContaining('does not apply to strategy deita') });
  });
});
