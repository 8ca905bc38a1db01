import { sql } from 'drizzle-orm';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rows, type Database } from '../db/client.js';
import { appendEvents, type StoredEvent } from '../db/events.repository.js';
import { EVENTS_CHANNEL } from '../db/queue.repository.js';
import { insertRun } from '../db/runs.repository.js';
import { createEventHub, type EventHub } from '../src/events/event-hub.js';
import { DATABASES } from './support/databases.js';
import { openQueueDatabase } from './support/queue-db.js';

// The hub on its own, against a real database: what one read per run, coalesced NOTIFYs and the
// head it has numbered mean for its subscribers.

/** A subscriber that records each page it is handed and the seqs it took. */
function recorder() {
  const pages: number[][] = [];
  const seqs: number[] = [];
  let wake: (() => void) | undefined;
  return {
    pages,
    seqs,
    sink: {
      deliver(page: readonly StoredEvent[], from: number) {
        const taken = page.slice(from).map((e) => e.seq);
        pages.push(taken);
        seqs.push(...taken);
        wake?.();
      },
    },
    async reached(seq: number, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while ((seqs.at(-1) ?? 0) < seq) {
        if (Date.now() > deadline) throw new Error(`got to seq ${seqs.at(-1) ?? 0}, not ${seq}`);
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 50);
        });
      }
    },
  };
}

describe.each(DATABASES)('event hub on %s', (kind) => {
  let database: Database;
  let hub: EventHub;
  let q: Awaited<ReturnType<typeof openQueueDatabase>> | undefined;
  let n = 0;

  beforeAll(async () => {
    q = await openQueueDatabase(kind, 4);
    database = q.sut;
    // A long backstop, so only NOTIFYs drive delivery here.
    hub = createEventHub({ database, log: pino({ level: 'silent' }), backstopMs: 60_000 });
    await hub.start();
  });
  afterAll(async () => {
    await hub?.stop();
    await q?.close();
  });

  /** A run, and the number of events its creation wrote (they come before the ones a test commits). */
  async function newRun(): Promise<[string, number]> {
    const id = `run_hub_${kind}_${++n}`;
    await insertRun(database.db, { id, owner: 'o', kind: 'generate', spec: {}, output: {}, datasets: [], tasks: [] });
    const [row] = await rows<{ n: number }>(database.db, sql`select count(*)::int as n from run_events where run_id = ${id}`);
    return [id, row.n];
  }
  const seqsFrom = (base: number, count: number) => Array.from({ length: count }, (_, i) => base + i + 1);
  /** One commit as a worker makes it: events appended, then a NOTIFY naming the run. */
  const commit = (runId: string, count: number) =>
    database.db.transaction(async (tx) => {
      await appendEvents(tx, runId, Array.from({ length: count }, (_, i) => ({ type: 'task.progress', data: { i } })));
      await tx.execute(sql`select pg_notify(${EVENTS_CHANNEL}, ${runId})`);
    });

  it('serves a burst of commits with a few reads: every subscriber gets every event once, in order, in the same pages', async () => {
    const [runId, base] = await newRun();
    const a = recorder();
    const b = recorder();
    hub.subscribe(runId, base, a.sink);
    hub.subscribe(runId, base, b.sink);
    // 40 commits of one event each, as fast as the database takes them.
    for (let i = 0; i < 40; i++) await commit(runId, 1);
    await a.reached(base + 40);
    await b.reached(base + 40);
    const all = seqsFrom(base, 40);
    expect(a.seqs).toEqual(all);
    expect(b.seqs).toEqual(all);
    // Coalesced: NOTIFYs closer than 20 ms share a read, so 40 commits make far fewer pages.
    expect(a.pages.length).toBeLessThan(40);
    // One read serves both: they were handed the very same pages.
    expect(b.pages).toEqual(a.pages);
  });

  it('knows the head it has numbered, and a subscriber joining behind it is served from its own cursor', async () => {
    const [runId, base] = await newRun();
    expect(hub.knownHead(runId)).toBe(0);
    const first = recorder();
    const sub = hub.subscribe(runId, base, first.sink);
    await commit(runId, 5);
    await first.reached(base + 5);
    expect(hub.knownHead(runId)).toBe(base + 5);
    const late = recorder();
    hub.subscribe(runId, base + 2, late.sink);
    await commit(runId, 1);
    await late.reached(base + 6);
    expect(late.seqs).toEqual(seqsFrom(base + 2, 4));
    await first.reached(base + 6);
    expect(first.seqs).toEqual(seqsFrom(base, 6));
    sub.unsubscribe();
  });

  it('holds a full subscriber back until it resumes, then goes on from where it stopped', async () => {
    const [runId, base] = await newRun();
    const taken: number[] = [];
    let full = true;
    const sub = hub.subscribe(runId, base, {
      deliver(page, from) {
        // While full it takes one event and says so; then it takes whole pages.
        const to = full ? from + 1 : page.length;
        taken.push(...page.slice(from, to).map((e) => e.seq));
        return { to, room: !full };
      },
    });
    await commit(runId, 3);
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Paused after one: the other two were neither handed over nor read again for it.
    expect(taken).toEqual([base + 1]);
    full = false;
    sub.resume();
    const deadline = Date.now() + 10_000;
    while (taken.length < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(taken).toEqual(seqsFrom(base, 3));
  });

  it('drops a subscriber that stays full while the run moves on, and only then', async () => {
    const [runId, base] = await newRun();
    let overrun = 0;
    const taken: number[] = [];
    hub.subscribe(runId, base, {
      deliver(page, from) {
        taken.push(page[from].seq);
        return { to: from + 1, room: false };
      },
      overrun: () => overrun++,
    });
    await commit(runId, 2);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect([taken, overrun]).toEqual([[base + 1], 0]);
    await commit(runId, 1);
    const deadline = Date.now() + 10_000;
    while (overrun === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(overrun).toBe(1);
    expect(taken).toEqual([base + 1]);
  });
});
