import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../db/client.js';
import { rows } from '../db/client.js';
import { commitOutcomes } from '../db/outcomes.repository.js';
import { claimTasks, type ClaimedTask } from '../db/queue.repository.js';
import { DATABASES } from './support/databases.js';
import { openQueueDatabase, planRun, runningBy, succeeded, tasksOf } from './support/queue-db.js';

/** Medium level: claimTasks against a real database, no worker and no HTTP. */
describe.each(DATABASES)('claiming tasks (%s)', (db) => {
  let sut: Database;
  let q: Awaited<ReturnType<typeof openQueueDatabase>>;
  beforeAll(async () => {
    q = await openQueueDatabase(db);
    sut = q.sut;
  });
  afterAll(() => q?.close());
  beforeEach(() => q.reset());

  /** The claimed tasks in claim order (the update returns them in no particular order). */
  const claim = async (limit: number, worker = 'w1') => (await claimTasks(sut.db, worker, limit, 30)).sort((a, b) => a.id - b.id);
  const countBy = (claimed: ClaimedTask[], key: (t: ClaimedTask) => string) =>
    claimed.reduce<Record<string, number>>((acc, t) => ({ ...acc, [key(t)]: (acc[key(t)] ?? 0) + 1 }), {});

  it('claims a batch: at most the limit, every task once, in plan order, leased to the worker with the attempt charged', async () => {
    const run = await planRun(sut, 'key-a', 10);
    const first = await claim(4);
    expect(first.map((t) => t.key)).toEqual(['t0', 't1', 't2', 't3']);
    const rest = await claim(100, 'w2');
    expect(rest.map((t) => t.key)).toEqual(['t4', 't5', 't6', 't7', 't8', 't9']);
    expect(await claim(100)).toEqual([]);
    const tasks = await tasksOf(sut, run.id);
    expect(tasks.map((t) => [t.status, t.attempts, t.worker_id])).toEqual([
      ...Array.from({ length: 4 }, () => ['running', 1, 'w1']),
      ...Array.from({ length: 6 }, () => ['running', 1, 'w2']),
    ]);
    const [lease] = await rows<{ min_s: number }>(sut.db, sql`select min(extract(epoch from lease_until - now()))::float8 as min_s from tasks where run_id = ${run.id}`);
    expect(lease.min_s).toBeGreaterThan(20);
  });

  it('takes only tasks that are due (run_at), and those as soon as they are', async () => {
    const run = await planRun(sut, 'key-a', 4);
    await sut.db.execute(sql`update tasks set run_at = now() + interval '1 hour' where run_id = ${run.id} and key in ('t0', 't2')`);
    expect((await claim(10)).map((t) => t.key)).toEqual(['t1', 't3']);
    expect(await claim(10)).toEqual([]);
    await sut.db.execute(sql`update tasks set run_at = now() - interval '1 second' where run_id = ${run.id} and key = 't2'`);
    expect((await claim(10)).map((t) => t.key)).toEqual(['t2']);
  });

  it('takes no task of a run that is not in flight', async () => {
    const run = await planRun(sut, 'key-a', 2);
    await sut.db.execute(sql`update runs set status = 'failed' where id = ${run.id}`);
    expect(await claim(10)).toEqual([]);
  });

  it('ranks a run’s concurrency cap inside the claim: no more than the cap in flight, and the rest of the batch goes to other runs', async () => {
    // The capped run is older, so its tasks would lead a claim in plan order.
    const capped = await planRun(sut, 'key-a', 20, { cap: 3 });
    const other = await planRun(sut, 'key-a', 20);
    const first = await claim(10);
    expect(countBy(first, (t) => t.run_id)).toEqual({ [capped.id]: 3, [other.id]: 7 });
    expect(countBy(await claim(10), (t) => t.run_id)).toEqual({ [other.id]: 10 });
    // One of the capped run's tasks commits: one place frees, and only one.
    const done = first.find((t) => t.run_id === capped.id)!;
    await commitOutcomes(sut.db, 'w1', [succeeded(done, capped.datasetId)]);
    const after = await claim(10);
    expect(countBy(after, (t) => t.run_id)).toEqual({ [capped.id]: 1, [other.id]: 3 });
    // No task was claimed and given back: only claimed tasks have been charged an attempt.
    const charged = (await tasksOf(sut, capped.id)).filter((t) => t.attempts > 0);
    expect(charged).toHaveLength(4);
  });

  it('several workers claiming at once never put a run over its cap', async () => {
    const cap = 3;
    const capped = await planRun(sut, 'key-a', 400, { cap });
    await planRun(sut, 'key-b', 600);
    let most = 0;
    for (let round = 0; round < 15; round++) {
      await Promise.all(Array.from({ length: 6 }, (_, i) => claimTasks(sut.db, `w${i}`, 4, 30)));
      const running = (await runningBy(sut, 'run'))[capped.id] ?? 0;
      expect(running).toBeLessThanOrEqual(cap);
      most = Math.max(most, running);
      // Finish what the capped run holds, so the next round races for the cap again.
      const held = await rows<ClaimedTask & { worker_id: string }>(sut.db, sql`select id::int as id, run_id, key, kind, payload, attempts, max_attempts, worker_id from tasks where run_id = ${capped.id} and status = 'running'`);
      for (const t of held) await commitOutcomes(sut.db, t.worker_id, [succeeded(t, capped.datasetId)]);
    }
    // The cap was reached, so the assertion above could have failed.
    expect(most).toBe(cap);
  });

  it.skipIf(db === 'pglite')('a claimer that cannot see another’s uncommitted claim still cannot overfill the cap', async () => {
    const capped = await planRun(sut, 'key-a', 10, { cap: 3 });
    let claimedA!: () => void;
    let commitA!: () => void;
    const aClaimed = new Promise<void>((resolve) => (claimedA = resolve));
    const aMayCommit = new Promise<void>((resolve) => (commitA = resolve));
    const a = sut.db.transaction(async (tx) => {
      const got = await claimTasks(tx, 'wa', 10, 30);
      claimedA();
      await aMayCommit;
      return got;
    });
    await aClaimed;
    // A task A did not take becomes due ahead of A's: B's line is not A's, so B's first pick is one A holds no lock on.
    await sut.db.execute(sql`update tasks set run_at = now() - interval '1 hour' where run_id = ${capped.id} and key = 't9'`);
    const b = await claimTasks(sut.db, 'wb', 10, 30);
    commitA();
    expect(await a).toHaveLength(3);
    expect(b).toEqual([]);
    expect((await runningBy(sut, 'run'))[capped.id]).toBe(3);
  });

  it('round robin across owners: a key’s small run queued after another key’s big one gets its share at once', async () => {
    const big = await planRun(sut, 'key-a', 3000);
    const small = await planRun(sut, 'key-b', 10);
    const first = await claim(8);
    expect(countBy(first, (t) => t.run_id)).toEqual({ [big.id]: 4, [small.id]: 4 });
    await claim(8);
    await claim(8);
    // All ten of the small run's tasks are claimed within 24, while the big run has 2,986 queued.
    expect(await runningBy(sut, 'run')).toEqual({ [big.id]: 14, [small.id]: 10 });
  });

  it('an owner’s place in line counts its tasks in flight: a key with none goes first', async () => {
    const a = await planRun(sut, 'key-a', 100);
    await claim(6);
    const b = await planRun(sut, 'key-b', 100);
    const c = await planRun(sut, 'key-c', 100);
    // key-a has 6 in flight; b and c take turns until they catch up, then all three do.
    const next = await claim(15);
    expect(countBy(next, (t) => t.run_id)).toEqual({ [a.id]: 1, [b.id]: 7, [c.id]: 7 });
  });

  it('round robin across an owner’s runs: a key’s second run takes turns with its first', async () => {
    const first = await planRun(sut, 'key-a', 500);
    const second = await planRun(sut, 'key-a', 5);
    const other = await planRun(sut, 'key-b', 500);
    const claimed = await claim(12);
    expect(countBy(claimed, (t) => t.run_id)).toEqual({ [first.id]: 3, [second.id]: 3, [other.id]: 6 });
  });
});
