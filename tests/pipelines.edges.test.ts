import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeLlm, type FakeLlm } from '../src/fake-llm/server.js';
import { DATABASES } from './support/databases.js';
import { markdownDoc, startHarness, type Harness } from './support/harness.js';
import { readSse } from './support/streams.js';

type Usage = { requests: number; input_tokens: number; output_tokens: number; cost_usd: number; cache_hits: number };

const sum = (usages: Usage[]): Usage =>
  usages.reduce(
    (a, u) => ({
      requests: a.requests + u.requests,
      input_tokens: a.input_tokens + u.input_tokens,
      output_tokens: a.output_tokens + u.output_tokens,
      cost_usd: a.cost_usd + u.cost_usd,
      cache_hits: a.cache_hits + u.cache_hits,
    }),
    { requests: 0, input_tokens: 0, output_tokens: 0, cost_usd: 0, cache_hits: 0 },
  );

const expectSameUsage = (actual: Usage, expected: Usage) => {
  expect({ ...actual, cost_usd: 0 }).toEqual({ ...expected, cost_usd: 0 });
  expect(actual.cost_usd).toBeCloseTo(expected.cost_usd, 9);
};

/** What a pipeline reports of itself: usage summed over its stages, ends without an ETA, failures with their cause, only links that answer. */
describe.each(DATABASES)('pipelines: usage, ends, causes and links (%s)', (db) => {
  let fake: FakeLlm;
  let h: Harness;
  beforeAll(async () => {
    fake = await startFakeLlm({ latencyMs: 2 });
    const file = join(mkdtempSync(join(tmpdir(), 'quarry-pipeline-edges-')), 'providers.yaml');
    writeFileSync(
      file,
      [
        'providers:',
        '  priced:',
        '    kind: openai',
        `    base_url: ${fake.openaiBaseUrl}`,
        '    model: priced-model',
        '    pricing: { input_per_mtok: 3, output_per_mtok: 15 }',
        '  dead:',
        '    kind: openai',
        '    base_url: http://127.0.0.1:9/v1',
        '    model: dead-model',
        '    max_retries: 0',
      ].join('\n'),
    );
    h = await startHarness({ db, fakeLlm: fake, env: { PROVIDERS_FILE: file } });
  });
  afterAll(async () => {
    await h?.close();
    await fake?.close();
  });
  beforeEach(() => fake.reset());

  const priced = { provider: 'priced' };
  const pipeline = (body: Record<string, unknown>) => request(h.url).post('/v1/pipelines').send(body);
  const getRun = async (id: string) => (await request(h.url).get(`/v1/runs/${id}`).expect(200)).body.run;
  async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean, what: string): Promise<T> {
    for (const deadline = Date.now() + 20_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 50))) {
      const v = await read();
      if (ok(v)) return v;
    }
    throw new Error(`timed out waiting for ${what}`);
  }

  it('usage, tokens and cost of a running pipeline are its stages’ so far; a canceled one keeps them and has no ETA', async () => {
    // The last section's teacher call hangs: the stage stays running with the other three committed.
    fake.configure({ faults: [{ kind: 'hang', match: 'fact3_0' }] });
    const run = (await pipeline({ generate: { documents: [markdownDoc('live.md', 4)], n_pairs: 1, llm: priced }, enrich: { llm: priced } }).expect(202)).body.run;
    const stageId = (await until(() => getRun(run.id), (r) => r.output.report.stages.length === 1, 'the generate stage')).output.report.stages[0].run_id;
    const stage = await until(() => getRun(stageId), (r) => r.progress.done === r.progress.total - 1 && r.progress.total > 1, 'all but the hanging task');
    const live = await getRun(run.id);
    expect(live.status).toBe('running');
    expect(stage.usage.requests).toBeGreaterThan(0);
    expect(stage.usage.cost_usd).toBeGreaterThan(0);
    expectSameUsage(live.usage, stage.usage);
    expect(live.progress.tokens).toEqual({ input: stage.usage.input_tokens, output: stage.usage.output_tokens });
    expect(live.progress.cost_usd).toBeCloseTo(stage.usage.cost_usd, 6);

    await request(h.url).post(`/v1/runs/${run.id}/cancel`).expect(200);
    const canceled = await until(() => getRun(run.id), (r) => r.status === 'canceled', 'the cancel');
    const canceledStage = await until(() => getRun(stageId), (r) => r.status === 'canceled', 'the stage cancel');
    expect(canceled.progress.eta_seconds).toBeNull();
    expect(canceledStage.progress.eta_seconds).toBeNull();
    expectSameUsage(canceled.usage, canceledStage.usage);
  });

  it('a finished pipeline’s usage is the sum of its stages’; ended runs and terminal events have eta_seconds null', async () => {
    const run = (
      await pipeline({
        generate: { documents: [markdownDoc('sum.md', 3)], n_pairs: 2, llm: priced },
        enrich: { batch_size: 2, llm: priced },
        curate: { threshold: 0, llm: priced },
      })
        .set('Prefer', 'wait=30')
        .expect(200)
    ).body.run;
    expect(run.status).toBe('succeeded');
    const stages = run.output.report.stages as Array<{ run_id: string; usage: Usage }>;
    expect(stages).toHaveLength(3);
    for (const s of stages) expect(s.usage.requests).toBeGreaterThan(0);
    expectSameUsage(run.usage, sum(stages.map((s) => s.usage)));
    expect(run.usage.cost_usd).toBeGreaterThan(0);
    expect(run.progress.tokens).toEqual({ input: run.usage.input_tokens, output: run.usage.output_tokens });
    expect(run.progress.eta_seconds).toBeNull();
    for (const s of stages) expect((await getRun(s.run_id)).progress.eta_seconds).toBeNull();
    const listed = (await request(h.url).get('/v1/runs?limit=200').expect(200)).body.runs;
    expect(listed.find((r: { id: string }) => r.id === run.id).usage).toEqual(run.usage);
    expect(listed.filter((r: { status: string }) => r.status === 'succeeded').every((r: { progress: { eta_seconds: unknown } }) => r.progress.eta_seconds === null)).toBe(true);

    const sse = await readSse(`${h.url}${run.links.events}`);
    const completed = sse.events.filter((e) => e.type === 'stage.completed');
    expect(completed.map((e) => e.data.usage)).toEqual(stages.map((s) => s.usage));
    const end = sse.events.at(-1)!;
    expect(end.type).toBe('run.succeeded');
    expect(end.data.progress).toMatchObject({ eta_seconds: null, tokens: { input: run.usage.input_tokens, output: run.usage.output_tokens } });
  });

  it('stage.failed carries the stage’s cause: tasks that failed, with the first one’s error', async () => {
    fake.configure({ faults: [{ kind: 'schema', match: 'strict reviewer' }] });
    const run = (
      await pipeline({ generate: { documents: [markdownDoc('cause.md', 2)], n_pairs: 1 }, curate: { threshold: 0, max_attempts: 1 } })
        .set('Prefer', 'wait=30')
        .expect(200)
    ).body.run;
    expect(run.status).toBe('failed');
    const failed = (await readSse(`${h.url}${run.links.events}`)).events.find((e) => e.type === 'stage.failed')!;
    expect(failed.data).toMatchObject({ stage: 1, kind: 'curate', outcome: 'failed', error: { category: 'tasks_failed', first_failure: { category: 'schema' } } });
    expect(failed.data.error.message).toMatch(/tasks failed/);
    expect(run.error).toMatchObject({ category: 'stage_failed', cause: failed.data.error });
    expect(run.error.message).toContain('(tasks_failed)');
  });

  it('stage.failed carries the stage’s cause: a fatal teacher error', async () => {
    const run = (await pipeline({ generate: { documents: [markdownDoc('dead.md', 2)], n_pairs: 1, llm: { provider: 'dead' } } }).set('Prefer', 'wait=20').expect(200)).body.run;
    expect(run.status).toBe('failed');
    // Read to the stream's end: it ends at run.failed, with nothing of the pipeline after it.
    const events = (await readSse(`${h.url}${run.links.events}`)).events;
    expect(events.at(-1)!.type).toBe('run.failed');
    const failed = events.find((e) => e.type === 'stage.failed')!;
    expect(failed.data.error.category).toBe('api');
    expect(failed.data.error.message).toContain('provider "dead"');
    expect(run.error.cause.category).toBe('api');
  });

  it('a topics-only pipeline links its topics, offers no export, and every link it has answers', async () => {
    const run = (await pipeline({ topics: { prompt: 'Postgres operations', degree: 2, depth: 1, llm: priced } }).set('Prefer', 'wait=30').expect(200)).body.run;
    expect(run.status).toBe('succeeded');
    expect(run.output.topics_id).toMatch(/^tp_/);
    expect(run.links.export).toBeUndefined();
    expect(run.links.topics).toBe(`/v1/topics/${run.output.topics_id}`);
    for (const [name, link] of Object.entries(run.links as Record<string, string>)) {
      if (name !== 'events' && name !== 'ws') await request(h.url).get(link).expect(200);
    }
    const refused = await pipeline({ topics: { prompt: 'Postgres operations' }, export: { format: 'chatml' } }).expect(400);
    expect(refused.body.error.details[0]).toMatchObject({ field: 'export' });
    expect(refused.body.error.details[0].message).toContain('add a generate or tools stage');
  });

  it('a topics run links its dataset and topics but offers no export', async () => {
    const run = (await request(h.url).post('/v1/topics').set('Prefer', 'wait=30').send({ prompt: 'Kubernetes', degree: 2, depth: 1, llm: priced }).expect(200)).body.run;
    expect(run.status).toBe('succeeded');
    expect(run.links.export).toBeUndefined();
    await request(h.url).get(run.links.dataset).expect(200);
    await request(h.url).get(run.links.topics).expect(200);
  });
});
