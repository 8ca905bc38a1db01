import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from './support/databases.js';
import { markdownDoc, startHarness, type Harness } from './support/harness.js';
import { readSse } from './support/streams.js';

/** Retry and dataset delete against each other: a run never writes into a dataset that is gone. */
describe.each(DATABASES)('retry and dataset delete (%s)', (db) => {
  let h: Harness;
  const A = { authorization: 'Bearer key-a' };
  const B = { authorization: 'Bearer key-b' };
  beforeAll(async () => {
    h = await startHarness({ db, env: { API_KEYS: 'key-a,key-b' }, fake: { latencyMs: 300 } });
  });
  afterAll(() => h?.close());

  const generate = (auth: Record<string, string>, body: Record<string, unknown>) => request(h.url).post('/v1/generate').set(auth).send({ n_pairs: 1, ...body });
  /** Resolves once the run's first tasks are claimed (its teacher calls are then in flight). */
  const started = (run: any, auth = A) => readSse(`${h.url}${run.links.events}`, auth, { stopAfter: 2 });
  const eventually = (run: any, auth = A) => readSse(`${h.url}${run.links.events}`, auth).then((s) => s.events.at(-1)!.type);

  it('cancel, delete the output dataset, retry: 409 naming the dataset, and another key’s run is not held up', async () => {
    const a = (await generate(A, { documents: [markdownDoc('a.md', 6)] }).expect(202)).body.run;
    await started(a);
    await request(h.url).post(`/v1/runs/${a.id}/cancel`).set(A).expect(200);
    await request(h.url).delete(`/v1/datasets/${a.output.dataset_id}`).set(A).expect(204);

    const refused = await request(h.url).post(`/v1/runs/${a.id}/retry`).set(A).expect(409);
    expect(refused.body.error.code).toBe('conflict');
    expect(refused.body.error.message).toContain(a.output.dataset_id);
    expect(refused.body.error.details).toEqual([expect.objectContaining({ field: 'output.dataset_id', dataset_id: a.output.dataset_id })]);
    expect((await request(h.url).get(`/v1/runs/${a.id}`).set(A).expect(200)).body.run.status).toBe('canceled');

    const b = (await generate(B, { documents: [markdownDoc('b.md', 1)] }).set('Prefer', 'wait=20').expect(200)).body.run;
    expect(b).toMatchObject({ status: 'succeeded', progress: { done: 1, records: 1 } });
  }, 40_000);

  it('every dataset a run writes counts: a deleted rejected set refuses the retry too', async () => {
    const a = (await generate(A, { documents: [markdownDoc('topic.md', 4)], topic: 'databases' }).expect(202)).body.run;
    expect(a.output.rejected_dataset_id).toBeTruthy();
    await started(a);
    await request(h.url).post(`/v1/runs/${a.id}/cancel`).set(A).expect(200);
    await request(h.url).delete(`/v1/datasets/${a.output.rejected_dataset_id}`).set(A).expect(204);
    const refused = await request(h.url).post(`/v1/runs/${a.id}/retry`).set(A).expect(409);
    expect(refused.body.error.details.map((d: any) => d.field)).toEqual(['output.rejected_dataset_id']);
  }, 40_000);

  it('a dataset a running run writes cannot be deleted (409 naming the run)', async () => {
    const a = (await generate(A, { documents: [markdownDoc('busy.md', 4)] }).expect(202)).body.run;
    await started(a);
    const refused = await request(h.url).delete(`/v1/datasets/${a.output.dataset_id}`).set(A).expect(409);
    expect(refused.body.error.message).toContain(a.id);
    expect(refused.body.error.details[0]).toMatchObject({ field: 'id', run_id: a.id });
    expect(await eventually(a)).toBe('run.succeeded');
  }, 40_000);

  it('a pipeline’s input and its finished stages’ datasets cannot be deleted while the pipeline runs', async () => {
    const input = (
      await request(h.url).post('/v1/datasets').set(A).send(Array.from({ length: 30 }, (_, i) => ({ question: `q${i}?`, answer: `a${i}.` }))).expect(201)
    ).body.dataset.id;
    const run = (await request(h.url).post('/v1/pipelines').set(A).send({ dataset_id: input, enrich: { mode: 'cot', batch_size: 1 }, curate: { threshold: 0, batch_size: 1 } }).expect(202)).body.run;
    const stream = readSse(`${h.url}${run.links.events}`, A);

    const first = await readSse(`${h.url}${run.links.events}`, A, { stopAfter: 3 });
    expect(first.events.at(-1)!.type).toBe('stage.started');
    const inputRefused = await request(h.url).delete(`/v1/datasets/${input}`).set(A).expect(409);
    expect(inputRefused.body.error.message).toContain(run.id);

    const enriched = await readSse(`${h.url}${run.links.events}`, A, { stopAfter: 5 });
    const completed = enriched.events.find((e) => e.type === 'stage.completed');
    expect(completed?.data.kind).toBe('enrich');
    // The enrich run is over, but the pipeline still runs: its later stages read that dataset.
    const stageRefused = await request(h.url).delete(`/v1/datasets/${completed!.data.dataset_id}`).set(A).expect(409);
    expect(stageRefused.body.error.details[0]).toMatchObject({ field: 'id', run_id: run.id });

    expect((await stream).events.at(-1)!.type).toBe('run.succeeded');
    await request(h.url).delete(`/v1/datasets/${input}`).set(A).expect(204);
  }, 60_000);

  it('a canceled pipeline whose stopped stage lost its dataset is not reopened: 409 naming the stage’s dataset', async () => {
    const run = (await request(h.url).post('/v1/pipelines').set(A).send({ generate: { documents: [markdownDoc('pipe.md', 6)], n_pairs: 1 }, curate: { threshold: 0 } }).expect(202)).body.run;
    const first = await readSse(`${h.url}${run.links.events}`, A, { stopAfter: 3 });
    const stage = first.events.at(-1)!;
    expect(stage.type).toBe('stage.started');
    await request(h.url).post(`/v1/runs/${run.id}/cancel`).set(A).expect(200);
    await request(h.url).delete(`/v1/datasets/${stage.data.dataset_id}`).set(A).expect(204);
    const refused = await request(h.url).post(`/v1/runs/${run.id}/retry`).set(A).expect(409);
    expect(refused.body.error.message).toContain(stage.data.run_id);
    expect(refused.body.error.details[0]).toMatchObject({ field: 'output.dataset_id', dataset_id: stage.data.dataset_id });
    expect((await request(h.url).get(`/v1/runs/${run.id}`).set(A).expect(200)).body.run.status).toBe('canceled');
  }, 40_000);

  it('a delete racing a retry of the same run: exactly one of them wins, and a retried run succeeds', async () => {
    const outcomes: string[] = [];
    for (let round = 0; round < 5; round++) {
      const a = (await generate(A, { documents: [markdownDoc(`race${round}.md`, 4)] }).expect(202)).body.run;
      await started(a);
      await request(h.url).post(`/v1/runs/${a.id}/cancel`).set(A).expect(200);
      // Sent together, each going first in turn.
      const del = () => request(h.url).delete(`/v1/datasets/${a.output.dataset_id}`).set(A).then((r) => r);
      const retry = () => request(h.url).post(`/v1/runs/${a.id}/retry`).set(A).then((r) => r);
      const [deleted, retried] = round % 2 === 0 ? await Promise.all([del(), retry()]) : await Promise.all([retry(), del()]).then(([r, d]) => [d, r]);
      expect([[204, 409], [409, 200]]).toContainEqual([deleted.status, retried.status]);
      if (retried.status === 200) {
        expect(await eventually(a)).toBe('run.succeeded');
        outcomes.push('retried');
      } else {
        expect(retried.body.error.details[0].dataset_id).toBe(a.output.dataset_id);
        outcomes.push('deleted');
      }
    }
    expect(outcomes).toHaveLength(5);
    console.info(`delete vs retry (${db}): ${outcomes.join(', ')}`);
  }, 90_000);
});
