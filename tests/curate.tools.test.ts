import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stepJudgeText, toolJudgeText, toolView } from '../services/curate/tool-records.js';
import type { ToolExample } from '../services/tools/tool-example.js';
import { DATABASES } from './support/databases.js';
import { startHarness, type Harness } from './support/harness.js';
import { readSse } from './support/streams.js';
import { answersByItem, answerTo, batchSizes, TEACHER_MODES } from './support/teacher-modes.js';
import { toolExample } from './support/tool-examples.js';

type Difficulty = ToolExample['difficulty'];
const SUBJECTS = ['temperature', 'pressure', 'velocity', 'density', 'humidity', 'salinity', 'vorticity', 'albedo', 'radiance', 'turbidity', 'enthalpy', 'porosity'];
const VERBS = ['Summarise', 'Report the range of', 'Check the units of', 'Find the peak of', 'Compare the first and last values of'];

/** A distinct tool-use example: easy is one call, medium two steps, hard a step of two parallel calls after the open. */
function example(i: number, difficulty: Difficulty, over: Partial<ToolExample> = {}): ToolExample {
  const subject = SUBJECTS[i % SUBJECTS.length];
  const file = `/data/campaign_${i}/${subject}.h5`;
  const path = `/results/${subject}_${Math.floor(i / SUBJECTS.length)}`;
  const open = { thought: 'Open the file first.', calls: [{ tool: 'open_file', args: { path: file }, result: `Opened ${file}` }] };
  const read = { tool: 'read_full_dataset', args: { path }, result: [i, i + 1, i + 2] };
  const steps =
    difficulty === 'easy'
      ? [open]
      : difficulty === 'medium'
        ? [open, { thought: `Read the ${subject} series.`, calls: [read] }]
        : [open, { thought: 'Units and values at once.', calls: [{ tool: 'get_attributes', args: { path, format: 'json' }, result: { units: 'K' } }, read] }];
  const instruction = `${VERBS[i % VERBS.length]} ${subject} in ${file} (case ${i}).`;
  return { ...toolExample(instruction, steps, `Done with ${subject} for case ${i}.`), difficulty, ...over };
}

const failedExecution = (x: ToolExample): Partial<ToolExample> => ({ verification: { ...x.verification, execution: { passed: false, reason: 'HTTP 500 from the API', mode: 'http' } } });

/** 12 easy, 12 medium, 6 hard, and 3 more whose execution failed. */
function mainSet(): ToolExample[] {
  const levels: Difficulty[] = [...Array(12).fill('easy'), ...Array(12).fill('medium'), ...Array(6).fill('hard')];
  const xs = levels.map((d, i) => example(i, d));
  for (let i = 30; i < 33; i++) xs.push(example(i, 'medium', failedExecution(example(i, 'medium'))));
  return xs;
}

const count = <T>(xs: T[], key: (x: T) => string) => xs.reduce<Record<string, number>>((acc, x) => ({ ...acc, [key(x)]: (acc[key(x)] ?? 0) + 1 }), {});

const cases = DATABASES.flatMap((db) => TEACHER_MODES.map((t) => ({ db, ...t })));

describe.each(cases)('POST /v1/curate on tool-use records ($db, $mode)', ({ db, fake }) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ db, fake });
  });
  afterAll(() => h?.close());

  const importSet = async (records: unknown[]) => (await request(h.url).post('/v1/datasets').send({ name: 'tool examples', records }).expect(201)).body.dataset.id as string;
  const curate = (body: Record<string, unknown>) => request(h.url).post('/v1/curate').set('Prefer', 'wait=60').send(body);
  const records = async (id: string) => (await request(h.url).get(`/v1/datasets/${id}/records?limit=1000`).expect(200)).body.records;
  const prompts = () => h.fake.requests().map((r) => JSON.stringify(r.body));

  it('drops failed verification, judges with the tool rubric, balances the mix and reports coverage', async () => {
    h.fake.reset();
    const input = mainSet();
    const datasetId = await importSet(input);
    const run = (await curate({ dataset_id: datasetId, threshold: 4, batch_size: 4, min_per_tool: 8 }).expect(200)).body.run;
    expect(run.status).toBe('succeeded');
    const kept = await records(run.output.dataset_id);
    const rejected = await records(run.output.rejected_dataset_id);
    expect(kept.length + rejected.length).toBe(33);

    // (1) execution failures: rejected with their gate, never shown to the teacher.
    const unverified = rejected.filter((r: any) => r.data.rejection.gate === 'verification');
    expect(unverified.map((r: any) => r.data.instruction).sort()).toEqual(input.slice(30).map((x) => x.instruction).sort());
    for (const r of unverified) expect(r.data.rejection).toMatchObject({ reason: 'verification_failed', detail: 'execution: HTTP 500 from the API' });
    for (const x of input.slice(30)) expect(prompts().some((p) => p.includes(x.instruction))).toBe(false);

    // (3) the rating is the rubric's sum, as the teacher answered under each example's label.
    const scores = answersByItem(h.fake.requests(), 'tool_scores');
    const judged = [...kept, ...rejected.filter((r: any) => r.data.curation?.rating !== undefined)];
    expect(judged).toHaveLength(30);
    for (const r of judged) {
      const { rating, judge_model: _m, tools_used, ...parts } = r.data.curation;
      expect(parts).toEqual(answerTo(scores, toolJudgeText(toolView(r.data))));
      expect(rating).toBe(parts.tool_selection + parts.parameter_correctness + parts.reasoning_quality + parts.result_usefulness);
      expect(tools_used).toEqual(r.data.tools_used);
    }
    const low = rejected.filter((r: any) => r.data.rejection.gate === 'rating');
    for (const r of low) expect(r.data.curation.rating).toBeLessThan(4);
    for (const r of kept) expect(r.data.curation.rating).toBeGreaterThanOrEqual(4);

    // (5) the kept examples follow 30/50/20 within one record, and a level keeps its best-rated.
    const balanced = rejected.filter((r: any) => r.data.rejection.gate === 'difficulty_balance');
    const keptBy = count(kept, (r: any) => r.data.difficulty);
    for (const [d, share] of Object.entries({ easy: 0.3, medium: 0.5, hard: 0.2 })) {
      expect(Math.abs((keptBy[d] ?? 0) - share * kept.length)).toBeLessThanOrEqual(1);
      const keptRatings = kept.filter((r: any) => r.data.difficulty === d).map((r: any) => r.data.curation.rating);
      for (const r of balanced.filter((b: any) => b.data.difficulty === d)) expect(r.data.curation.rating).toBeLessThanOrEqual(Math.min(...keptRatings));
    }
    expect(kept.length + low.length + balanced.length).toBe(30);

    // (6) the report's numbers are the datasets' own.
    const output = (await request(h.url).get(`/v1/runs/${run.id}`).expect(200)).body.run.output;
    expect(output.difficulty_balance).toEqual({ balanced: 30 - low.length, kept_per_difficulty: { easy: 0, medium: 0, hard: 0, ...keptBy }, warnings: [] });
    const report = output.report;
    const perTool: Record<string, number> = { get_attributes: 0, open_file: 0, read_full_dataset: 0 };
    for (const r of kept) for (const t of r.data.tools_used) perTool[t]++;
    expect(report).toMatchObject({
      tool_use: true,
      records_in: 33,
      verification_failed: 3,
      kept: kept.length,
      rejected_by_gate: count(rejected, (r: any) => r.data.rejection.gate),
      difficulty_in: { ...count(input, (x) => x.difficulty), unknown: 0 },
      difficulty_out: { easy: 0, medium: 0, hard: 0, ...keptBy, unknown: 0 },
      coverage: { min_per_tool: 8, per_tool: perTool },
    });
    const below = Object.keys(perTool).filter((t) => perTool[t] < 8);
    expect(report.coverage.below_min).toEqual(below);
    expect(report.coverage.warnings).toHaveLength(below.length);
    expect(below).toContain('get_attributes');
  });

  it('the turn filter rejects an example with a step below its threshold, only when it is on', async () => {
    // Two steps each, rated at random by the schema-only teacher: 16 examples make all or none filtered out vanishingly unlikely.
    const input = Array.from({ length: 16 }, (_, i) => example(100 + i, i % 2 ? 'medium' : 'hard'));
    const datasetId = await importSet(input);
    const onlyMedHard = { easy: 0, medium: 0.5, hard: 0.5 };
    h.fake.reset();
    const off = (await curate({ dataset_id: datasetId, threshold: 0, difficulty_mix: onlyMedHard }).expect(200)).body.run;
    expect(batchSizes(h.fake.requests(), 'step_ratings')).toEqual([]);
    expect(await records(off.output.rejected_dataset_id)).toEqual([]);
    expect(await records(off.output.dataset_id)).toHaveLength(16);

    h.fake.reset();
    const on = (await curate({ dataset_id: datasetId, threshold: 0, difficulty_mix: onlyMedHard, turn_filter: { threshold: 0.3 } }).expect(200)).body.run;
    expect(on.status).toBe('succeeded');
    const steps = answersByItem(h.fake.requests(), 'step_ratings');
    const all = [...(await records(on.output.dataset_id)), ...(await records(on.output.rejected_dataset_id))];
    expect(all).toHaveLength(16);
    let filtered = 0;
    for (const r of all) {
      const view = toolView(r.data);
      const given = view.steps.map((_, s) => answerTo(steps, stepJudgeText(view, s)));
      expect(r.data.curation.step_ratings).toEqual(given);
      const bad = given.some((g) => Number(g.rating) < 0.3);
      expect(r.data.rejection?.gate === 'turn_filter').toBe(bad);
      if (bad) {
        filtered++;
        expect(r.data.curation.rating).toBeUndefined();
      }
    }
    expect(filtered).toBeGreaterThan(0);
    expect(filtered).toBeLessThan(16);
    // Only what passed the turn filter was scored.
    expect(batchSizes(h.fake.requests(), 'tool_scores').reduce((a, b) => a + b, 0)).toBe(16 - filtered);
  });

  it('drops duplicate instructions, exact and near, before the teacher sees them', async () => {
    const a = example(200, 'medium');
    const b = example(201, 'medium');
    const c = example(202, 'medium');
    const chat = ({ messages, tools }: ToolExample) => ({ messages, tools });
    const input = [
      a,
      b,
      c,
      example(203, 'medium', { instruction: `  ${a.instruction.toUpperCase()} ` }),
      example(204, 'medium', { instruction: b.instruction.replace('(case 201)', '(case 2O1)') }),
      chat(c),
    ];
    h.fake.reset();
    const run = (await curate({ records: input, threshold: 0, dedup: { exact: true, near: 0.8 }, difficulty_mix: { easy: 0, medium: 1, hard: 0 } }).expect(200)).body.run;
    expect(run.output.report).toMatchObject({ records_in: 6, duplicates: { exact: 2, near: 1 }, to_judge: 3 });
    const rejected = (await records(run.output.rejected_dataset_id)).map((r: any) => [r.key, r.data.rejection.gate, r.data.rejection.reason, r.data.rejection.duplicate_of]);
    expect(rejected.sort()).toEqual([
      ['r3', 'dedup', 'exact_duplicate', 'r0'],
      ['r4', 'dedup', 'near_duplicate', 'r1'],
      ['r5', 'dedup', 'exact_duplicate', 'r2'],
    ]);
    expect((await records(run.output.dataset_id)).map((r: any) => r.key).sort()).toEqual(['r0', 'r1', 'r2']);
    expect(batchSizes(h.fake.requests(), 'tool_scores')).toEqual([3]);
  });
});

describe.each(DATABASES)('POST /v1/curate on tool-use records: teacher faults (%s)', (db) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ db, fake: { latencyMs: 2 } });
  });
  afterAll(() => h?.close());
  const curate = (body: Record<string, unknown>) => request(h.url).post('/v1/curate').set('Prefer', 'wait=60').send(body);
  const records = async (id: string) => (await request(h.url).get(`/v1/datasets/${id}/records?limit=1000`).expect(200)).body.records;
  const input = Array.from({ length: 8 }, (_, i) => example(300 + i, i % 2 ? 'medium' : 'easy'));
  const mix = { easy: 0.5, medium: 0.5, hard: 0 };

  it('429s and malformed answers are retried: every example is judged, none lost', async () => {
    h.fake.reset();
    h.fake.configure({ faults: [{ kind: '429', times: 2, retryAfter: 0 }, { kind: 'malformed', times: 2 }] });
    const run = (await curate({ records: input, threshold: 0, batch_size: 4, difficulty_mix: mix }).expect(200)).body.run;
    expect(run.status).toBe('succeeded');
    expect(h.fake.stats().faults).toMatchObject({ 429: 2, malformed: 2 });
    const kept = await records(run.output.dataset_id);
    expect(kept.map((r: any) => r.key).sort()).toEqual(input.map((_, i) => `r${i}`).sort());
    for (const r of kept) expect(r.data.curation.rating).toBeTypeOf('number');
  });

  it('an example the judge never answers is a failed task, never kept; a retry finishes the balance', async () => {
    h.fake.reset();
    h.fake.configure({ faults: [{ kind: 'malformed', match: input[2].instruction }] });
    const run = (await curate({ records: input, threshold: 0, batch_size: 4, max_attempts: 1, difficulty_mix: mix }).expect(200)).body.run;
    expect(run.status).toBe('failed');
    const failed = (await readSse(`${h.url}${run.links.events}`)).events.filter((e) => e.type === 'record.failed');
    expect(failed).toHaveLength(1);
    // The balance waits for every judge task: nothing is kept yet, and the failed example is nowhere.
    expect(await records(run.output.dataset_id)).toEqual([]);
    expect(await records(run.output.rejected_dataset_id)).toEqual([]);
    const waiting = (await records(run.output.judged_dataset_id)).map((r: any) => r.key);
    expect(waiting.sort()).toEqual(input.map((_, i) => `r${i}`).filter((k) => k !== 'r2').sort());

    h.fake.reset();
    await request(h.url).post(`/v1/runs/${run.id}/retry`).expect(200);
    expect((await readSse(`${h.url}${run.links.events}`)).events.at(-1)!.type).toBe('run.succeeded');
    const kept = await records(run.output.dataset_id);
    const rejected = await records(run.output.rejected_dataset_id);
    expect([...kept, ...rejected].map((r: any) => r.key).sort()).toEqual(input.map((_, i) => `r${i}`).sort());
    expect(kept.filter((r: any) => r.data.difficulty === 'easy').length).toBe(kept.filter((r: any) => r.data.difficulty === 'medium').length);
  });
});

describe.each(DATABASES)('POST /v1/curate on tool-use records without a teacher (%s)', (db) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ db, fake: { latencyMs: 2 } });
  });
  afterAll(() => h?.close());

  it('judge: false drops failed verification and duplicates and balances by the records\' own rating', async () => {
    // Ratings 1–4 per level, no hard examples: the mix is met between easy and medium (3 : 5 of 6 → 2 easy, 4 medium).
    const input = [
      ...[1, 4, 2, 3].map((rating, i) => ({ ...example(400 + i, 'easy'), rating })),
      ...[2, 1, 4, 3].map((rating, i) => ({ ...example(410 + i, 'medium'), rating })),
    ];
    input.push({ ...example(420, 'easy', failedExecution(example(420, 'easy'))), rating: 10 }, { ...input[1] });
    h.fake.reset();
    const run = (await request(h.url).post('/v1/curate').set('Prefer', 'wait=60').send({ records: input, judge: false, dedup: {} }).expect(200)).body.run;
    expect(run.status).toBe('succeeded');
    expect(h.fake.stats().requests).toBe(0);
    const kept = (await request(h.url).get(`/v1/datasets/${run.output.dataset_id}/records?limit=100`).expect(200)).body.records;
    const rejected = (await request(h.url).get(`/v1/datasets/${run.output.rejected_dataset_id}/records?limit=100`).expect(200)).body.records;
    // Easy keeps its two best (r1 rated 4, r3 rated 3); medium keeps all four.
    expect(kept.map((r: any) => r.key).sort()).toEqual(['r1', 'r3', 'r4', 'r5', 'r6', 'r7']);
    expect(Object.fromEntries(rejected.map((r: any) => [r.key, r.data.rejection.gate]))).toEqual({ r0: 'difficulty_balance', r2: 'difficulty_balance', r8: 'verification', r9: 'dedup' });
    expect(run.output.difficulty_balance).toMatchObject({ kept_per_difficulty: { easy: 2, medium: 4, hard: 0 }, warnings: [expect.stringContaining('no hard examples')] });
  });
});

describe('POST /v1/curate on tool-use records: bad input', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ db: 'pglite', fake: { latencyMs: 2 } });
  });
  afterAll(() => h?.close());
  const qa = { question: 'What is a lease?', answer: 'A time-limited claim on a task.' };

  it.each([
    [{ records: [example(1, 'easy'), qa], turn_filter: {} }, 'turn_filter', 'tool-use records (messages with tool calls) alone: record '],
    [{ records: [qa], turn_filter: {} }, 'turn_filter', 'only applies to tool-use records'],
    [{ records: [qa], difficulty_mix: { easy: 0.3, medium: 0.5, hard: 0.2 } }, 'difficulty_mix', 'only applies to tool-use records'],
    [{ records: [example(1, 'easy')], difficulty_mix: { easy: 0.5, medium: 0.5, hard: 0.5 } }, 'difficulty_mix', 'add up to 1'],
    [{ records: [example(1, 'easy')], turn_filter: { threshold: 1.5 } }, 'turn_filter.threshold', ''],
    [{ records: [example(1, 'easy')], min_per_tool: 0 }, 'min_per_tool', ''],
  ])('rejects %j naming %s', async (body, field, text) => {
    const res = await request(h.url).post('/v1/curate').send(body).expect(400);
    const detail = res.body.error.details.find((d: any) => d.field === field);
    expect(detail, JSON.stringify(res.body.error)).toBeDefined();
    expect(detail.message).toContain(text);
  });
});
