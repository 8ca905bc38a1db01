import request from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { markdownDoc, startHarness, type Harness } from './support/harness.js';
import { readSse } from './support/streams.js';

describe('POST /v1/pipelines', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ db: 'pglite', fake: { latencyMs: 2 } });
  });
  afterAll(() => h?.close());
  beforeEach(() => h.fake.reset());

  const pipeline = (body: Record<string, unknown>) => request(h.url).post('/v1/pipelines').send(body);
  const records = async (id: string) => (await request(h.url).get(`/v1/datasets/${id}/records?limit=1000`).expect(200)).body.records;
  const modelsBy = (marker: string) => h.fake.requests().filter((r) => JSON.stringify(r.body).includes(marker)).map((r) => (r.body as any).model);
  const threeStages = {
    generate: { documents: [markdownDoc('pipe.md', 3)], n_pairs: 2, llm: { model: 'gen-small' } },
    enrich: { mode: 'rewrite', batch_size: 4, llm: { model: 'enrich-mid' } },
    curate: { threshold: 0, batch_size: 5, llm: { model: 'judge-big' } },
    export: { format: 'alpaca' },
  };

  it('runs generate → enrich → curate → export, each stage its own run, dataset and llm', async () => {
    const run = (await pipeline(threeStages).expect(202)).body.run;
    expect(run).toMatchObject({ kind: 'pipeline', progress: { total: 4 } });
    expect(run.spec.generate.documents[0]).toMatchObject({ name: 'pipe.md' });
    const sse = await readSse(`${h.url}${run.links.events}`);
    const types = sse.events.map((e) => e.type);
    expect(types.filter((t) => t === 'stage.started')).toHaveLength(3);
    expect(types.filter((t) => t === 'stage.completed')).toHaveLength(3);
    expect(types.at(-1)).toBe('run.succeeded');
    expect(sse.events.filter((e) => e.type === 'stage.started').map((e) => e.data.kind)).toEqual(['generate', 'enrich', 'curate']);

    const done = (await request(h.url).get(`/v1/runs/${run.id}`).expect(200)).body.run;
    const stages = done.output.report.stages;
    expect(stages.map((s: any) => [s.kind, s.status, s.rows_in, s.rows_out])).toEqual([
      ['generate', 'succeeded', 3, 6],
      ['enrich', 'succeeded', 6, 6],
      ['curate', 'succeeded', 6, 6],
    ]);
    expect(new Set(stages.map((s: any) => s.dataset_id)).size).toBe(3);
    for (const s of stages) expect(await records(s.dataset_id)).toHaveLength(6);
    expect(done.output.dataset_id).toBe(stages[2].dataset_id);
    expect(done.links.export).toBe(`/v1/datasets/${stages[2].dataset_id}/export?format=alpaca`);
    const exported = (await request(h.url).get(done.links.export).expect(200)).text.trim().split('\n').map((l) => JSON.parse(l));
    expect(exported).toHaveLength(6);
    expect(exported[0]).toHaveProperty('instruction');
    // Each stage used its own teacher.
    expect(new Set(modelsBy('question–answer pairs for fine-tuning'))).toEqual(new Set(['gen-small']));
    expect(new Set(modelsBy('You improve the answers'))).toEqual(new Set(['enrich-mid']));
    expect(new Set(modelsBy('strict reviewer'))).toEqual(new Set(['judge-big']));
    // The curated records carry the enrichment and the scores.
    const [curated] = await records(done.output.dataset_id);
    expect(curated.data).toHaveProperty('original_answer');
    expect(curated.data).toHaveProperty('curation.rating');
  });

  it('skips stages: enrich and curate an existing dataset', async () => {
    const input = (await request(h.url).post('/v1/datasets').send([{ question: 'What is a lease?', answer: 'A time-limited claim.' }]).expect(201)).body.dataset.id;
    const run = (await pipeline({ dataset_id: input, enrich: { mode: 'cot' }, curate: { threshold: 0 } }).set('Prefer', 'wait=30').expect(200)).body.run;
    expect(run.status).toBe('succeeded');
    expect(run.output.report.stages.map((s: any) => s.kind)).toEqual(['enrich', 'curate']);
    expect(run.links.export).toContain('format=chatml');
  });

  it('a failed stage fails the pipeline, keeps earlier datasets, and retry resumes from the failed tasks', async () => {
    h.fake.configure({ faults: [{ kind: 'schema', match: 'strict reviewer' }] });
    const run = (await pipeline({ ...threeStages, curate: { ...threeStages.curate, max_attempts: 1 } }).set('Prefer', 'wait=30').expect(200)).body.run;
    expect(run.status).toBe('failed');
    expect(run.error.category).toBe('stage_failed');
    const stages = run.output.report.stages;
    expect(stages.map((s: any) => s.status)).toEqual(['succeeded', 'succeeded', 'failed']);
    expect(await records(stages[0].dataset_id)).toHaveLength(6);
    expect(await records(stages[1].dataset_id)).toHaveLength(6);
    const sse = await readSse(`${h.url}${run.links.events}`);
    expect(sse.events.find((e) => e.type === 'stage.failed')!.data).toMatchObject({ stage: 2, kind: 'curate' });

    const generateCalls = modelsBy('question–answer pairs for fine-tuning').length;
    h.fake.reset();
    await request(h.url).post(`/v1/runs/${run.id}/retry`).expect(200);
    const resumed = await readSse(`${h.url}${run.links.events}?after=${sse.events.at(-1)!.seq}`);
    expect(resumed.events.map((e) => e.type)).toContain('run.retried');
    expect(resumed.events.at(-1)!.type).toBe('run.succeeded');
    const after = (await request(h.url).get(`/v1/runs/${run.id}`).expect(200)).body.run;
    expect(after.output.report.stages.map((s: any) => [s.status, s.rows_out])).toEqual([
      ['succeeded', 6],
      ['succeeded', 6],
      ['succeeded', 6],
    ]);
    // Nothing before the failed stage ran again.
    expect(generateCalls).toBe(3);
    expect(modelsBy('question–answer pairs for fine-tuning')).toHaveLength(0);
    expect(modelsBy('You improve the answers')).toHaveLength(0);
  });

  it('cancel stops the running stage and the pipeline', async () => {
    h.fake.configure({ latencyMs: 300 });
    const run = (await pipeline({ generate: { documents: [markdownDoc('slow.md', 30)], n_pairs: 1 }, curate: { threshold: 0 } }).expect(202)).body.run;
    const started = await readSse(`${h.url}${run.links.events}`, {}, { stopAfter: 3 });
    const stageRun = started.events.find((e) => e.type === 'stage.started')!.data.run_id;
    await request(h.url).post(`/v1/runs/${run.id}/cancel`).expect(200);
    const child = (await request(h.url).get(`/v1/runs/${stageRun}`).expect(200)).body.run;
    expect(child.status).toBe('canceled');
    const parent = (await request(h.url).get(`/v1/runs/${run.id}`).expect(200)).body.run;
    expect(parent.status).toBe('canceled');
    h.fake.configure({ latencyMs: 2 });
  });

  it.each([
    [{}, 'generate', 'at least one'],
    [{ export: { format: 'chatml' } }, 'generate', 'at least one'],
    [{ generate: { documents: [{ name: 'a', text: 'b' }] }, dataset_id: 'ds_000000000000000000000000' }, 'dataset_id', 'own source'],
    [{ enrich: {} }, 'dataset_id', 'is required'],
    [{ dataset_id: 'ds_000000000000000000000000', enrich: {} }, 'dataset_id', 'no dataset'],
    [{ generate: { documents: [{ name: 'a', text: 'b' }], n_pairs: 0 } }, 'generate.n_pairs', ''],
    [{ generate: { documents: [{ name: 'a', text: 'b' }], turns: 3 } }, 'generate.turns', 'only applies'],
    [{ generate: { documents: [{ name: 'a', text: 'b' }] }, enrich: { records: [] } }, 'enrich.records', ''],
    [{ generate: { documents: [{ name: 'a', text: 'b' }] }, curate: { threshold: 12 } }, 'curate.threshold', ''],
    [{ generate: { documents: [{ name: 'a', text: 'b' }] }, enrich: { llm: { provider: 'nope' } } }, 'enrich.llm.provider', 'unknown provider'],
    [{ generate: { documents: [{ name: 'a', text: 'b' }] }, export: { format: 'xml' } }, 'export.format', ''],
    [{ generate: { documents: [{ name: 'a', text: 'b' }] }, summarize: {} }, 'summarize', ''],
  ])('rejects %j naming %s', async (body, field, text) => {
    const res = await pipeline(body).expect(400);
    const detail = res.body.error.details.find((d: any) => d.field === field);
    expect(detail, JSON.stringify(res.body.error)).toBeDefined();
    expect(detail.message).toContain(text);
  });
});
