import { sql } from 'drizzle-orm';
import { runCounts } from '../db/counters.js';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, rows, type Database } from '../db/client.js';
import { commitOutcomes } from '../db/outcomes.repository.js';
import { claimTasks, type ClaimedTask, type Outcome } from '../db/queue.repository.js';
import { insertRun, markRunsStarted } from '../db/runs.repository.js';
import { newId } from '../src/ids.js';
import { createPostgresDatabase, DATABASES } from './support/databases.js';
import { markdownDoc, startHarness, type Harness } from './support/harness.js';
import { readSse } from './support/streams.js';

const none = { requests: 1, input_tokens: 10, output_tokens: 10, cost_usd: 0, cache_hits: 0 };
const succeeded = (task: ClaimedTask, datasetId: string, extra: Partial<Extract<Outcome, { type: 'succeeded' }>> = {}): Outcome => ({
  type: 'succeeded',
  task,
  datasetId,
  records: [{ key: `${task.key}#0`, data: { question: `q ${task.key}`, answer: 'a' } }],
  usage: none,
  ...extra,
});

/** Medium level: the commit against a real database, no HTTP and no worker. */
describe.each(DATABASES)('committing outcomes that cannot be stored (%s)', (db) => {
  let sut: Database;
  let drop: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const pg = db === 'postgres' ? await createPostgresDatabase() : undefined;
    drop = pg?.drop;
    sut = await openDatabase(pg ? { databaseUrl: pg.url, poolSize: 4 } : { dataDir: 'memory://' });
  });
  afterAll(async () => {
    await sut?.close();
    await drop?.();
  });

  async function plan(owner: string, tasks: number) {
    const id = newId('run');
    const datasetId = newId('ds');
    await insertRun(sut.db, {
      id, owner, kind: 'generate', spec: {}, output: { dataset_id: datasetId },
      datasets: [{ id: datasetId, name: `${owner} dataset` }],
      tasks: Array.from({ length: tasks }, (_, i) => ({ key: `t${i}`, kind: 'test', payload: {} })),
    });
    return { id, datasetId };
  }
  async function claim(runIds: string[]) {
    const claimed = (await claimTasks(sut.db, 'worker-1', 100, 30)).filter((t) => runIds.includes(t.run_id));
    await markRunsStarted(sut.db, runIds);
    return (runId: string) => claimed.filter((t) => t.run_id === runId).sort((a, b) => a.key.localeCompare(b.key));
  }
  const run = async (id: string) => ({ ...(await rows<any>(sut.db, sql`select status, error from runs where id = ${id}`))[0], ...(await runCounts(sut.db, id)) });
  const tasksOf = (id: string) => rows<any>(sut.db, sql`select key, status, last_error from tasks where run_id = ${id} order by key`);
  const eventsOf = (id: string) => rows<any>(sut.db, sql`select type, data from run_events where run_id = ${id} order by seq`);

  it('records for a dataset deleted under a running task fail that run (category storage); another owner’s run in the same batch commits', async () => {
    const a = await plan('key-a', 2);
    const b = await plan('key-b', 1);
    const tasksOfRun = await claim([a.id, b.id]);
    await sut.db.execute(sql`delete from datasets where id = ${a.datasetId}`);

    await commitOutcomes(sut.db, 'worker-1', [
      ...tasksOfRun(a.id).map((t) => succeeded(t, a.datasetId)),
      ...tasksOfRun(b.id).map((t) => succeeded(t, b.datasetId)),
    ]);

    expect(await run(b.id)).toMatchObject({ status: 'succeeded', done: 1, failed: 0, records: 1 });
    const stored = await rows<{ n: number }>(sut.db, sql`select count(*)::int as n from records where dataset_id = ${b.datasetId}`);
    expect(stored[0].n).toBe(1);

    const failed = await run(a.id);
    expect(failed.status).toBe('failed');
    expect(failed.error.category).toBe('storage');
    expect(failed.error.message).toContain(a.datasetId);
    expect(failed.error.message).not.toMatch(/params|insert into/i);
    const [first, second] = await tasksOf(a.id);
    expect(first).toMatchObject({ status: 'failed', last_error: { category: 'storage' } });
    // The run failed at the first outcome; the second is dropped with it, as a cancel would.
    expect(second.status).toBe('canceled');
    const types = (await eventsOf(a.id)).map((e) => e.type);
    expect(types).toContain('record.failed');
    expect(types.at(-1)).toBe('run.failed');
    expect((await eventsOf(a.id)).find((e) => e.type === 'record.failed').data.category).toBe('storage');
  });

  it('an outcome Postgres cannot store fails only its own task; the run’s other outcomes commit', async () => {
    const c = await plan('key-a', 2);
    const tasksOfRun = await claim([c.id]);
    const [bad, good] = tasksOfRun(c.id);
    // jsonb refuses \u0000: the run's output merge throws for this outcome alone.
    await commitOutcomes(sut.db, 'worker-1', [succeeded(bad, c.datasetId, { output: { note: 'nul \u0000 here' } }), succeeded(good, c.datasetId)]);

    const tasks = await tasksOf(c.id);
    expect(tasks.map((t) => t.status)).toEqual(['failed', 'succeeded']);
    expect(tasks[0].last_error.category).toBe('storage');
    expect(tasks[0].last_error.message).toMatch(/could not be stored: .*SQLSTATE 22P05/);
    expect(tasks[0].last_error.message).not.toMatch(/params|nul/);
    const ended = await run(c.id);
    expect(ended).toMatchObject({ status: 'failed', done: 1, failed: 1, records: 1 });
    expect(ended.error.category).toBe('tasks_failed');
  });
});

/** The worker, over HTTP: a poisoned outcome never holds up another tenant's run. */
describe.each(DATABASES)('a poisoned commit under the worker (%s)', (db) => {
  let h: Harness;
  const A = { authorization: 'Bearer key-a' };
  const B = { authorization: 'Bearer key-b' };
  beforeAll(async () => {
    h = await startHarness({ db, env: { API_KEYS: 'key-a,key-b' }, fake: { latencyMs: 300 } });
  });
  afterAll(() => h?.close());

  const generate = (auth: Record<string, string>, name: string, sections: number) =>
    request(h.url).post('/v1/generate').set(auth).send({ documents: [markdownDoc(name, sections)], n_pairs: 1 });
  const started = (run: any, auth: Record<string, string>) => readSse(`${h.url}${run.links.events}`, auth, { stopAfter: 2 });

  it('a dataset deleted under a running task fails that run with category storage; another key’s run finishes', async () => {
    const a = (await generate(A, 'a.md', 3).expect(202)).body.run;
    await started(a, A);
    // Not through the API (which refuses it): straight under the running tasks.
    await h.quarry.database.db.execute(sql`delete from datasets where id = ${a.output.dataset_id}`);

    const b = (await generate(B, 'b.md', 1).set('Prefer', 'wait=20').expect(200)).body.run;
    expect(b).toMatchObject({ status: 'succeeded', progress: { done: 1, records: 1 } });

    const stream = await readSse(`${h.url}${a.links.events}`, A);
    expect(stream.events.at(-1)!.type).toBe('run.failed');
    const failures = stream.events.filter((e) => e.type === 'record.failed');
    expect(failures.length).toBeGreaterThan(0);
    expect(failures.every((e) => e.data.category === 'storage')).toBe(true);
    const ended = (await request(h.url).get(`/v1/runs/${a.id}`).set(A).expect(200)).body.run;
    expect(ended.error).toMatchObject({ category: 'storage' });
    expect(ended.error.message).toContain(a.output.dataset_id);
  }, 40_000);

  it('a commit that keeps failing for one run is split off: the others commit, its tasks fail with category storage', async () => {
    const a = (await generate(A, 'stuck.md', 2).expect(202)).body.run;
    // A failure the commit cannot tell from a transient one (serialization_failure), for one dataset only.
    await h.quarry.database.db.execute(sql.raw(`
      create or replace function quarry_test_stuck() returns trigger language plpgsql as $$
      begin
        if new.dataset_id = '${a.output.dataset_id}' then raise exception 'injected' using errcode = '40001'; end if;
        return new;
      end $$`));
    await h.quarry.database.db.execute(sql`create trigger quarry_test_stuck before insert on records for each row execute function quarry_test_stuck()`);
    try {
      const b = (await generate(B, 'fine.md', 1).set('Prefer', 'wait=20').expect(200)).body.run;
      expect(b).toMatchObject({ status: 'succeeded', progress: { done: 1, records: 1 } });

      const stream = await readSse(`${h.url}${a.links.events}`, A);
      expect(stream.events.at(-1)!.type).toBe('run.failed');
      const failures = stream.events.filter((e) => e.type === 'record.failed');
      expect(failures).toHaveLength(2);
      for (const f of failures) {
        expect(f.data.category).toBe('storage');
        expect(f.data.message).toMatch(/could not be stored \(3 tries\).*40001/);
      }
    } finally {
      await h.quarry.database.db.execute(sql`drop trigger if exists quarry_test_stuck on records`);
    }
  }, 40_000);
});
