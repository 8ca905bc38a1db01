import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { rows, type Database } from '../db/client.js';
import { eventsAfter, sequenceEvents } from '../db/events.repository.js';
import { commitOutcomes } from '../db/outcomes.repository.js';
import { claimTasks } from '../db/queue.repository.js';
import { markRunsStarted } from '../db/runs.repository.js';
import { settleStranded } from '../db/settle.repository.js';
import { TEST_DATABASE_URL } from './support/databases.js';
import { eventTypes, openQueueDatabase, planRun, runRow, succeeded } from './support/queue-db.js';

/**
 * One run committed by several workers at once, on a real Postgres (PGlite has one connection:
 * nothing there runs side by side). A transaction held open by hand stands for a worker caught in
 * the middle of its commit.
 */
describe.runIf(TEST_DATABASE_URL)('one run, many writers (postgres)', () => {
  let sut: Database;
  let q: Awaited<ReturnType<typeof openQueueDatabase>>;
  let raw: postgres.Sql;
  beforeAll(async () => {
    q = await openQueueDatabase('postgres');
    sut = q.sut;
    const [{ db }] = await rows<{ db: string }>(sut.db, sql`select current_database() as db`);
    const url = new URL(TEST_DATABASE_URL!);
    url.pathname = `/${db}`;
    raw = postgres(url.toString(), { max: 2, onnotice: () => {} });
  });
  afterAll(async () => {
    await raw?.end({ timeout: 5 });
    await q?.close();
  });
  beforeEach(() => q.reset());

  async function claimed(worker: string, limit: number) {
    const tasks = await claimTasks(sut.db, worker, limit, 30);
    await markRunsStarted(sut.db, [...new Set(tasks.map((t) => t.run_id))]);
    return tasks;
  }

  it('a commit never waits for another writer’s open commit of the same run', async () => {
    const run = await planRun(sut, 'key-a', 4);
    const [w1task] = await claimed('w1', 1);
    const rest = await claimed('w2', 3);
    let committed = false;
    await raw.begin(async (t) => {
      // What w1's commit holds while it is in flight: its share of the run's row, its counter row, its events.
      await t`select id from runs where id = ${run.id} for key share`;
      await t`insert into run_counters (run_id, writer, done) values (${run.id}, 'w1', 1)`;
      await t`insert into run_events (run_id, type, data) values (${run.id}, 'progress', '{"from":"w1"}')`;
      await t`update tasks set status = 'succeeded' where id = ${w1task.id}`;
      const other = commitOutcomes(sut.db, 'w2', rest.map((task) => succeeded(task, run.datasetId)));
      const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error('w2 waited for w1')), 5000));
      await Promise.race([other, timeout]);
      committed = true;
      // w1 has not committed: the run is not over, whatever w2 counted.
      expect(await runRow(sut, run.id)).toMatchObject({ status: 'running', done: 3, records: 3 });
    });
    expect(committed).toBe(true);
    // w1's commit is in now, but nobody settled after it (as if w1 died right after): the reaper's sweep ends the run.
    expect(await runRow(sut, run.id)).toMatchObject({ status: 'running', done: 4 });
    expect(await settleStranded(sut.db, {})).toBe(1);
    expect(await runRow(sut, run.id)).toMatchObject({ status: 'succeeded', done: 4, records: 3 });
  });

  it('two writers committing a run’s last tasks at once end it once', async () => {
    for (let round = 0; round < 5; round++) {
      await q.reset();
      const run = await planRun(sut, 'key-a', 2);
      const [a] = await claimed('w1', 1);
      const [b] = await claimed('w2', 1);
      await Promise.all([commitOutcomes(sut.db, 'w1', [succeeded(a, run.datasetId)]), commitOutcomes(sut.db, 'w2', [succeeded(b, run.datasetId)])]);
      expect(await runRow(sut, run.id)).toMatchObject({ status: 'succeeded', done: 2, records: 2 });
      expect((await eventTypes(sut, run.id)).filter((t) => t === 'run.succeeded')).toHaveLength(1);
    }
  });

  it('an event committed after a later one is numbered after it: a replay from any seq misses nothing', async () => {
    const run = await planRun(sut, 'key-a', 2);
    const [early, late] = await claimed('w1', 2);
    await raw.begin(async (t) => {
      // Appended first (the smaller id), committed last.
      await t`insert into run_events (run_id, type, data) values (${run.id}, 'task.note', '{"who":"slow"}')`;
      await commitOutcomes(sut.db, 'w1', [succeeded(early, run.datasetId)]);
      const { head } = await sequenceEvents(sut.db, run.id, true);
      const seen = await eventsAfter(sut.db, run.id, 0, 1000);
      expect(seen.map((e) => e.seq)).toEqual(Array.from({ length: head }, (_, i) => i + 1));
      expect(seen.some((e) => e.type === 'task.note')).toBe(false);
    });
    const { head: before } = await sequenceEvents(sut.db, run.id, true);
    const after = await eventsAfter(sut.db, run.id, 0, 1000);
    // The slow event got the next seq, above everything a client at `before - 1` had already seen.
    expect(after.find((e) => e.type === 'task.note')!.seq).toBe(before);
    await commitOutcomes(sut.db, 'w1', [succeeded(late, run.datasetId)]);
    const all = await eventsAfter(sut.db, run.id, 0, 1000);
    await sequenceEvents(sut.db, run.id, true);
    const numbered = await eventsAfter(sut.db, run.id, 0, 1000);
    expect(numbered.map((e) => e.seq)).toEqual(numbered.map((_, i) => i + 1));
    expect(numbered.length).toBeGreaterThan(all.length);
    // The record.created events carry their records, joined back from the records table.
    const record = numbered.find((e) => e.type === 'record.created')!;
    expect(JSON.parse(record.data).record).toMatchObject({ question: expect.any(String), answer: expect.any(String) });
  });

  it('starting a run another worker is starting at that moment neither waits for it nor starts it twice', async () => {
    const run = await planRun(sut, 'key-a', 2);
    const tasks = await claimTasks(sut.db, 'w1', 2, 30);
    expect(tasks).toHaveLength(2);
    await raw.begin(async (t) => {
      // w2 is in the middle of starting the same run: it holds the row as markRunsStarted does.
      await t`select id from runs where id = ${run.id} for no key update`;
      const began = performance.now();
      await markRunsStarted(sut.db, [run.id]);
      // Skipped, not waited for: well under any lock timeout, and the run is still w2's to start.
      expect(performance.now() - began).toBeLessThan(2000);
      expect(await runRow(sut, run.id)).toMatchObject({ status: 'queued' });
      await t`update runs set status = 'running', started_at = now() where id = ${run.id}`;
    });
    // Once w2 has started it, starting it again writes nothing (the stand-in for w2 wrote no run.started, and neither did this).
    await markRunsStarted(sut.db, [run.id]);
    expect(await runRow(sut, run.id)).toMatchObject({ status: 'running' });
    expect((await eventTypes(sut, run.id)).filter((t) => t === 'run.started')).toHaveLength(0);
  });
});
