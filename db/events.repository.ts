import { sql } from 'drizzle-orm';
import { rows, type Executor, type Tx } from './client.js';

export interface NewEvent {
  type: string;
  data: Record<string, unknown>;
  /** A record.created event names its record instead of holding a copy; readers join it back as `data.record`. */
  recordId?: number;
}

/** An event as read back for streaming: `data` is its JSON text, spliced into the wire event unparsed. */
export interface StoredEvent {
  seq: number;
  type: string;
  data: string;
  created_at: Date;
}

/** NOTIFY payload: the id of a run that has just ended (its terminal event is written in the same transaction). */
export const RUN_ENDED_CHANNEL = 'quarry_run_ended';

export const TERMINAL_EVENTS = new Set(['run.succeeded', 'run.failed', 'run.canceled']);

/**
 * Appends events to a run's log, unnumbered: `sequenceEvents` numbers them once they are committed
 * (see run-events.table.ts). One statement whatever the count, with the same text every time, so
 * it is prepared once per connection. Takes no lock on the run.
 */
export async function appendEvents(tx: Tx, runId: string, events: NewEvent[]): Promise<void> {
  if (events.length === 0) return;
  // Whoever waits for the run's end (Prefer: wait) hears it here, not by reading every event.
  if (events.some((e) => TERMINAL_EVENTS.has(e.type))) await tx.execute(sql`select pg_notify(${RUN_ENDED_CHANNEL}, ${runId})`);
  await tx.execute(sql`insert into run_events (run_id, type, data, record_id)
    select ${runId}, e.type, e.data::json, e.record_id
      from unnest(${sql.param(events.map((e) => e.type))}::text[], ${sql.param(events.map((e) => JSON.stringify(e.data)))}::text[],
                  ${sql.param(events.map((e) => (e.recordId === undefined ? null : String(e.recordId))))}::bigint[])
           with ordinality as e(type, data, record_id, n)
     order by e.n`);
}

/**
 * Numbers the run's committed events that have no seq yet; returns its newest seq (0 if none).
 * A call numbers at most 5,000 (a short transaction even on the embedded database); `all` goes on
 * until none is left.
 */
export async function sequenceEvents(ex: Executor, runId: string, all = false): Promise<{ head: number; more: boolean }> {
  for (;;) {
    const [row] = await rows<{ head: number; more: boolean }>(ex, sql`select head, more from quarry_sequence_events(${runId})`);
    const result = { head: Number(row.head), more: row.more };
    if (!all || !result.more) return result;
  }
}

/**
 * Numbered events after `after`, a record.created event with its record as `data.record` (null if
 * the record's dataset was deleted since). The record's JSON text is spliced into the event's,
 * never parsed.
 */
export async function eventsAfter(ex: Executor, runId: string, after: number, limit = 1000): Promise<StoredEvent[]> {
  const found = await rows<StoredEvent & { record: string | null; record_id: string | null }>(
    ex,
    sql`select e.seq, e.type, e.data::text as data, e.record_id, r.data::text as record, e.created_at
          from run_events e left join records r on r.id = e.record_id
         where e.run_id = ${runId} and e.seq > ${after} order by e.seq limit ${limit}`,
  );
  return found.map(({ record, record_id, ...e }) => (record_id === null ? e : { ...e, data: withRecord(e.data, record) }));
}

/** `{"task":…,"ts":…}` + the record's text → `{"task":…,"ts":…,"record":…}`. */
function withRecord(data: string, record: string | null): string {
  const head = data.slice(0, data.lastIndexOf('}')).trimEnd();
  return `${head}${head.endsWith('{') ? '' : ','}"record":${record ?? 'null'}}`;
}
