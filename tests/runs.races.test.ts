import { sql } from 'drizzle-orm';
import { runCounts } from '../db/counters.js';
import { pino } from 'pino';
import request from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, rows, type Database } from '../db/client.js';
import { EVENTS_CHANNEL } from '../db/queue.repository.js';
import { cancelRun, insertRun, retryRun } from '../db/runs.repository.js';
import { pipelineHooks } from '../services/pipelines/pipeline.hooks.js';
import { newId } from '../src/ids.js';
import { loadConfig } from '../src/config.js';
import { createLlmClient } from '../src/llm/llm.client.js';
import { loadProviders } from '../src/llm/providers.js';
import { createMetrics } from '../src/metrics.js';
import { createWorker } from '../src/queue/worker.js';
import type { TaskHandlers } from '../src/queue/task-handler.js';
import { createPostgresDatabase, DATABASES } from './support/databases.js';
import { markdownDoc, startHarness, type Harness } from './support/harness.js';
import { readSse } from './support/streams.js';

/** What a user does by clicking fast: cancel then retry at once, retry twice. */
describe.each(DATABASES)('runs clicked fast (%s)', (db) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ db, fake: { latencyMs: 300 } });
  });
  afterAll(() => h?.close());
  beforeEach(() => h.fake.configure({ latencyMs: 300 }));

  /** Resolves when the fake teacher has received a request beyond `seen` (a new attempt is in flight). */
  async function newRequestAfter(seen: number) {
    while (h.fake.stats().requests <= seen) await new Promise((r) => setTimeout(r, 5));
  }
  const finalEvents = async (run: any) => (await readSse(`${h.url}${run.links.events}`)).events;
  const attempts = (runId: string) => rows<{ key: string; attempts: number }>(h.quarry.database.db, sql`select key, attempts from tasks where run_id = ${runId}`);

  it('cancel then an immediate retry, five times over: the run succeeds with exactly the expected records, no attempt charged', async () => {
    const sections = 60;
    const run = (await request(h.url).post('/v1/generate').send({ documents: [markdownDoc('clicks.md', sections)], n_pairs: 1 }).expect(202)).body.run;
    for (let round = 0; round < 5; round++) {
      await newRequestAfter(h.fake.stats().requests);
      await request(h.url).post(`/v1/runs/${run.id}/cancel`).expect(200);
      await request(h.url).post(`/v1/runs/${run.id}/retry`).expect(200);
    }
    h.fake.configure({ latencyMs: 2 });
    const events = await finalEvents(run);
    expect(events.at(-1)!.type).toBe('run.succeeded');
    expect(events.filter((e) => e.type === 'record.failed')).toEqual([]);
    expect(events.filter((e) => e.type === 'run.canceled')).toHaveLength(5);
    const final = (await request(h.url).get(`/v1/runs/${run.id}`).expect(200)).body.run;
    expect(final.progress).toMatchObject({ total: sections, done: sections, failed: 0, records: sections });
    const keys = (await request(h.url).get(`/v1/datasets/${run.output.dataset_id}/records?limit=1000`).expect(200)).body.records.map((r: any) => r.key);
    expect(keys).toHaveLength(sections);
    expect(new Set(keys).size).toBe(sections);
    // An attempt aborted by a cancel is given back, not counted against max_attempts.
    expect((await attempts(run.id)).filter((t) => t.attempts !== 1)).toEqual([]);
  }, 60_000);

  it('two retries at once: one answers 200, the other 200 or 409, and the run succeeds', async () => {
    const run = (await request(h.url).post('/v1/generate').send({ documents: [markdownDoc('double.md', 20)], n_pairs: 1 }).expect(202)).body.run;
    await newRequestAfter(0);
    await request(h.url).post(`/v1/runs/${run.id}/cancel`).expect(200);
    const answers = await Promise.all([1, 2].map(() => request(h.url).post(`/v1/runs/${run.id}/retry`)));
    const statuses = answers.map((a) => a.status).sort();
    expect([[200, 200], [200, 409]]).toContainEqual(statuses);
    h.fake.configure({ latencyMs: 2 });
    const events = await finalEvents(run);
    expect(events.at(-1)!.type).toBe('run.succeeded');
    expect(events.filter((e) => e.type === 'record.failed')).toEqual([]);
  }, 60_000);

  it('a pipeline: cancel then two retries at once resume it, and it succeeds', async () => {
    const run = (
      await request(h.url).post('/v1/pipelines').send({ generate: { documents: [markdownDoc('pipe.md', 20)], n_pairs: 1 }, curate: { threshold: 0, batch_size: 2 } }).expect(202)
    ).body.run;
    const started = await readSse(`${h.url}${run.links.events}`, {}, { stopAfter: 3 });
    expect(started.events.at(-1)!.type).toBe('stage.started');
    await request(h.url).post(`/v1/runs/${run.id}/cancel`).expect(200);
    const answers = await Promise.all([1, 2].map(() => request(h.url).post(`/v1/runs/${run.id}/retry`)));
    expect([[200, 200], [200, 409]]).toContainEqual(answers.map((a) => a.status).sort());
    h.fake.configure({ latencyMs: 2 });
    const events = await finalEvents(run);
    expect(events.at(-1)!.type).toBe('run.succeeded');
    const done = (await request(h.url).get(`/v1/runs/${run.id}`).expect(200)).body.run;
    expect(done.output.report.stages.map((s: any) => [s.kind, s.status, s.rows_out])).toEqual([
      ['generate', 'succeeded', 20],
      ['curate', 'succeeded', 20],
    ]);
  }, 60_000);
});

/** Medium level: the worker and the run repository on a real database, with a handler the test controls. */
describe.each(DATABASES)('cancel and retry against in-flight attempts (%s)', (db) => {
  let sut: Database;
  let drop: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const pg = db === 'postgres' ? await createPostgresDatabase() : undefined;
    drop = pg?.drop;
    sut = await openDatabase(pg ? { databaseUrl: pg.url, poolSize: 6 } : { dataDir: 'memory://' });
  });
  afterAll(async () => {
    await sut?.close();
    await drop?.();
  });

  const runRow = async (id: string) => ({ ...(await rows<any>(sut.db, sql`select status from runs where id = ${id}`))[0], ...(await runCounts(sut.db, id)) });
  /** Resolves when the run reaches one of `statuses` (checked on each of its events). */
  async function reaches(id: string, statuses: string[]) {
    let unlisten = async () => {};
    await new Promise<void>((resolve) => {
      const check = () => void runRow(id).then((r) => statuses.includes(r.status) && resolve());
      void sut.listen(EVENTS_CHANNEL, (runId) => runId === id && check()).then((u) => ((unlisten = u), check()));
    });
    await unlisten();
  }

  it('an attempt aborted by a cancel that a retry has superseded is queued again uncharged, and the run succeeds', async () => {
    const id = newId('run');
    const datasetId = newId('ds');
    const tasks = 4;
    let firstAttempts = 0;
    let allInFlight!: () => void;
    const inFlight = new Promise<void>((r) => (allInFlight = r));
    const handlers: TaskHandlers = {
      // First attempts hang until aborted and then take a moment to unwind, as an SDK call does.
      async block({ task, signal }) {
        if (task.attempts === 1 && ++firstAttempts <= tasks) {
          if (firstAttempts === tasks) allInFlight();
          await new Promise((_, reject) => signal.addEventListener('abort', () => setTimeout(() => reject(signal.reason), 50)));
        }
        return { datasetId, records: [{ key: `${task.key}#0`, data: { question: task.key, answer: 'a' } }] };
      },
    };
    const worker = createWorker({
      database: sut, handlers, hooks: {}, llm: createLlmClient({ providers: loadProviders(loadConfig({})) }), log: pino({ level: 'silent' }), metrics: createMetrics(),
      concurrency: 8, leaseSeconds: 30, pollIntervalMs: 200,
    });
    await insertRun(sut.db, {
      id, owner: 'key-a', kind: 'generate', spec: {}, output: { dataset_id: datasetId }, datasets: [{ id: datasetId, name: 'a' }],
      tasks: Array.from({ length: tasks }, (_, i) => ({ key: `t${i}`, kind: 'block', payload: {} })),
    });
    await worker.start();
    try {
      await inFlight;
      expect(await cancelRun(sut.db, id)).toBe(true);
      // Every task is still in flight: the retry resumes them rather than finding nothing to do.
      expect(await retryRun(sut.db, id)).toEqual({ requeued: tasks });
      await reaches(id, ['succeeded', 'failed', 'canceled']);
    } finally {
      await worker.stop(0);
    }
    expect(await runRow(id)).toMatchObject({ status: 'succeeded', done: tasks, failed: 0, records: tasks });
    const charged = await rows<{ attempts: number }>(sut.db, sql`select attempts from tasks where run_id = ${id} and attempts <> 1`);
    expect(charged).toEqual([]);
    const failures = await rows(sut.db, sql`select data from run_events where run_id = ${id} and type = 'record.failed'`);
    expect(failures).toEqual([]);
  }, 30_000);

  it('two retries of a canceled pipeline at once never leave it failed with its stage running', async () => {
    for (let round = 0; round < 3; round++) {
      const pipeline = newId('run');
      const stage = newId('run');
      const datasetId = newId('ds');
      await insertRun(sut.db, { id: pipeline, owner: 'key-a', kind: 'pipeline', spec: {}, output: {}, datasets: [], total: 2, tasks: [{ key: 'stage:0', kind: 'none', payload: {} }] });
      await sut.db.execute(sql`update tasks set status = 'succeeded' where run_id = ${pipeline}`);
      await sut.db.execute(sql`update runs set status = 'running', done = 1 where id = ${pipeline}`);
      await insertRun(sut.db, {
        id: stage, owner: 'key-a', kind: 'generate', spec: {}, output: { dataset_id: datasetId }, datasets: [{ id: datasetId, name: 's' }],
        parent: { runId: pipeline, stage: 0 }, tasks: [{ key: 't0', kind: 'none', payload: {} }],
      });
      expect(await cancelRun(sut.db, pipeline, pipelineHooks)).toBe(true);

      const results = await Promise.all([retryRun(sut.db, pipeline, undefined, pipelineHooks), retryRun(sut.db, pipeline, undefined, pipelineHooks)]);
      expect([(await runRow(pipeline)).status, (await runRow(stage)).status]).toEqual(['running', 'running']);
      expect(results.filter((r) => 'requeued' in r)).toHaveLength(1);
    }
  });
});
