import { setImmediate as nextTurn } from 'node:timers/promises';
import { sql } from 'drizzle-orm';
import request from 'supertest';
import type { Database } from '../../db/client.js';
import { appendEvents, type NewEvent } from '../../db/events.repository.js';
import { EVENTS_CHANNEL } from '../../db/queue.repository.js';
import { markdownDoc, type Harness } from './harness.js';

/**
 * Writes a run's events the way a worker commits them — appended in a transaction that then
 * NOTIFYs — so a test decides exactly when each batch lands and when clients join between batches.
 * Use with a harness started with `WORKER_CONCURRENCY: '0'`, so no worker touches the run.
 */
export async function drivenRun(h: Harness, existing?: { id: string; links: { events: string; ws: string } }) {
  const run = existing ?? (await request(h.url).post('/v1/generate').send({ documents: [markdownDoc('driven.md', 1)], n_pairs: 1 }).expect(202)).body.run;
  const database: Database = h.quarry.database;
  let seq = 1; // run.queued
  let bytes = 0;
  async function commit(events: NewEvent[], status?: 'running' | 'succeeded') {
    await database.db.transaction(async (tx) => {
      await appendEvents(tx, run.id, events);
      if (status) await tx.execute(sql`update runs set status = ${status}, finished_at = ${status === 'succeeded' ? sql`now()` : null} where id = ${run.id}`);
      await tx.execute(sql`select pg_notify(${EVENTS_CHANNEL}, ${run.id})`);
    });
    seq += events.length;
    bytes += events.reduce((n, e) => n + JSON.stringify(e.data).length, 0);
    // PGlite can answer without a turn of the event loop; a worker's commit always takes one, and
    // without it the service would not accept or write to a socket until the test stops committing.
    await nextTurn();
  }
  return {
    run,
    sse: `${h.url}${run.links.events}`,
    ws: `${h.url.replace('http', 'ws')}${run.links.ws}`,
    /** The seq of the newest event committed. */
    get seq() {
      return seq;
    },
    /** Bytes of event data committed so far. */
    get bytes() {
      return bytes;
    },
    start: () => commit([{ type: 'run.started', data: {} }], 'running'),
    /** Commits `n` record.created events, each carrying `textBytes` of text. */
    records: (n: number, textBytes = 64) =>
      commit(Array.from({ length: n }, (_, i) => ({ type: 'record.created', data: { record: { i: seq + i + 1, text: 'x'.repeat(textBytes) } } }))),
    succeed: () => commit([{ type: 'run.succeeded', data: {} }], 'succeeded'),
  };
}
