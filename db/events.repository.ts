import { sql } from 'drizzle-orm';
import { rows, type Executor, type Tx } from './client.js';
import { runEvents } from './schema/index.js';

export interface NewEvent {
  type: string;
  data: Record<string, unknown>;
}

export interface StoredEvent {
  seq: number;
  type: string;
  data: Record<string, unknown>;
  created_at: Date;
}

export const TERMINAL_EVENTS = new Set(['run.succeeded', 'run.failed', 'run.canceled']);

/**
 * Appends events to a run's log. Must run inside the transaction that changes the run: the
 * `update runs` takes the row lock that keeps seq order equal to commit order.
 */
export async function appendEvents(tx: Tx, runId: string, events: NewEvent[]): Promise<void> {
  if (events.length === 0) return;
  const [{ event_seq }] = await rows<{ event_seq: number }>(
    tx,
    sql`update runs set event_seq = event_seq + ${events.length} where id = ${runId} returning event_seq`,
  );
  const first = event_seq - events.length + 1;
  await tx.insert(runEvents).values(events.map((e, i) => ({ runId, seq: first + i, type: e.type, data: e.data })));
}

export async function eventsAfter(ex: Executor, runId: string, after: number, limit = 1000): Promise<StoredEvent[]> {
  return rows<StoredEvent>(
    ex,
    sql`select seq, type, data, created_at from run_events where run_id = ${runId} and seq > ${after} order by seq limit ${limit}`,
  );
}

/** The seq of the run's newest event (0 when it has none, or no such run). */
export async function lastEventSeq(ex: Executor, runId: string): Promise<number> {
  const [row] = await rows<{ event_seq: number }>(ex, sql`select event_seq from runs where id = ${runId}`);
  return row ? Number(row.event_seq) : 0;
}
