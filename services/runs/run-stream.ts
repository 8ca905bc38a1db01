import { TERMINAL_EVENTS, sequenceEvents, type StoredEvent } from '../../db/events.repository.js';
import type { Subscription } from '../../src/events/event-hub.js';
import { sseEvent } from '../../src/events/sse.js';
import { TERMINAL_STATUSES } from './run-view.js';
import { requireRun, type RunsDeps } from './runs.service.js';
import type { StreamSlots } from './stream-slots.js';

/**
 * Most bytes a stream client may have written to it and not yet taken. At the bound the hub stops
 * sending to it (and reads nothing for it) until it drains; if its run moves on meanwhile it is
 * disconnected, and reconnects with Last-Event-ID to replay the rest from the table.
 */
export const SLOW_CLIENT_MAX_UNSENT_BYTES = 1024 * 1024;

export interface WireEvent {
  seq: number;
  type: string;
  run_id: string;
  at: string;
  data: Record<string, unknown>;
}

/** One event as sent: `json` is the serialised WireEvent, `sse` its Server-Sent Events frame. */
export interface WireFrame {
  seq: number;
  type: string;
  json: string;
  readonly sse: string;
}

/** Events sent together: an SSE client takes them as one write. */
export interface WireBatch {
  frames: readonly WireFrame[];
  /** Every frame's SSE text, joined and encoded once: the same bytes are written to every client. */
  readonly sse: Buffer;
}

/** A connected SSE or WebSocket client, as the stream sees it. */
export interface StreamClient {
  /** Writes events in order; `flushed` is called once they have left the process. */
  write(batch: WireBatch, flushed: () => void): void;
  /** Bytes written to the client and not yet taken by it. */
  unsent(): number;
  /** The run ended and the client has seen its last event. */
  end(): void;
  /** The client fell too far behind: cut the connection. */
  drop(): void;
}

// Every client of a run gets the same pages from the hub: each event is serialised once, and each
// page (from a given index) joined once, however many clients take it. The event's data is spliced
// in as the JSON text it was stored as, never parsed and serialised again.
const frames = new WeakMap<StoredEvent, WireFrame>();
const batches = new WeakMap<readonly StoredEvent[], Map<number, WireBatch>>();

function frameOf(runId: string, e: StoredEvent): WireFrame {
  let frame = frames.get(e);
  if (frame === undefined) {
    const json = `{"seq":${e.seq},"type":${JSON.stringify(e.type)},"run_id":${JSON.stringify(runId)},"at":"${new Date(e.created_at).toISOString()}","data":${e.data}}`;
    let sse: string | undefined;
    frame = {
      seq: e.seq,
      type: e.type,
      json,
      get sse() {
        return (sse ??= sseEvent({ id: e.seq, event: e.type, data: json }));
      },
    };
    frames.set(e, frame);
  }
  return frame;
}

function batchOf(runId: string, page: readonly StoredEvent[], from: number): WireBatch {
  let byStart = batches.get(page);
  if (!byStart) batches.set(page, (byStart = new Map()));
  let batch = byStart.get(from);
  if (batch === undefined) {
    batch = joined(page.slice(from).map((e) => frameOf(runId, e)));
    byStart.set(from, batch);
  }
  return batch;
}

function joined(list: WireFrame[]): WireBatch {
  let sse: Buffer | undefined;
  return {
    frames: list,
    get sse() {
      return (sse ??= Buffer.from(list.map((f) => f.sse).join('')));
    },
  };
}

/**
 * As much of `batch` as fits in `budget` bytes (as SSE, the larger of the two encodings), and
 * always its first event: a client is never sent more than one event past its bound.
 */
function within(batch: WireBatch, budget: number): WireBatch {
  if (batch.sse.length <= budget) return batch;
  let n = 0;
  for (let used = 0; n < batch.frames.length; n++) {
    used += Buffer.byteLength(batch.frames[n].sse);
    if (n > 0 && used > budget) break;
  }
  return joined(batch.frames.slice(0, n));
}

/**
 * Streams a run's events after `after` to `client`, ending it once the run has ended and the client
 * has seen its last event. Shared by SSE and WebSocket so both replay identically. Returns the close.
 */
export async function openRunStream(
  deps: RunsDeps & { streams?: StreamSlots; stallMs?: number },
  owner: string,
  runId: string,
  after: number,
  client: StreamClient,
): Promise<() => void> {
  const run = await requireRun(deps, owner, runId);
  const ended = TERMINAL_STATUSES.has(run.status);
  // A cursor within what this process has already numbered is a point in the log as it is: a crowd
  // of clients joining a watched run (most with no cursor) costs no numbering round each.
  let head = deps.hub.knownHead(runId);
  if (ended || after > head) head = (await sequenceEvents(deps.database.db, runId, true)).head;
  if (ended && after >= head) {
    client.end();
    return () => {};
  }
  // Throws the 429 before anything is written, so the refusal still gets a JSON body.
  const release = deps.streams?.acquire(owner) ?? (() => {});
  // A cursor past the newest event cannot have been seen; clamped, the client still gets what comes
  // next, the terminal event included, instead of waiting for a seq the run may never reach.
  const cursor = Math.min(after, head);
  let closing: NodeJS.Immediate | undefined;
  let closed = false;
  // A full client that takes nothing for `stallMs` is cut even when no new event comes to show it
  // is behind (a stalled replay of an ended run would otherwise hold its buffer and slot forever).
  let stall: NodeJS.Timeout | undefined;
  const flushed = () => {
    if (closed || client.unsent() >= SLOW_CLIENT_MAX_UNSENT_BYTES) return;
    if (stall) clearTimeout(stall);
    stall = undefined;
    subscription.resume();
  };
  const watchStall = () => {
    if (stall || !deps.stallMs) return;
    stall = setTimeout(() => {
      if (closed) return;
      stop();
      client.drop();
    }, deps.stallMs);
    stall.unref();
  };
  const subscription: Subscription = deps.hub.subscribe(runId, cursor, {
    deliver(page, from) {
      if (closed) return;
      if (closing) clearImmediate(closing);
      closing = undefined;
      const batch = within(batchOf(runId, page, from), SLOW_CLIENT_MAX_UNSENT_BYTES - client.unsent());
      client.write(batch, flushed);
      const to = from + batch.frames.length;
      // A retried run continues after its terminal event; only end if nothing follows it.
      if (to === page.length && TERMINAL_EVENTS.has(page[to - 1].type)) closing = setImmediate(finish);
      const room = to === page.length && client.unsent() < SLOW_CLIENT_MAX_UNSENT_BYTES;
      if (!room) watchStall();
      return { to, room };
    },
    overrun() {
      stop();
      client.drop();
    },
  });
  function stop() {
    closed = true;
    if (closing) clearImmediate(closing);
    if (stall) clearTimeout(stall);
    subscription.unsubscribe();
    release();
  }
  function finish() {
    if (closed) return;
    stop();
    client.end();
  }
  return stop;
}

/** Event seqs are Postgres integers; a cursor above this could never match and would fail the query. */
export const MAX_EVENT_SEQ = 2_147_483_647;

/** `Last-Event-ID` header wins over `?after=`; both are a run event seq (the routes bound both by MAX_EVENT_SEQ). */
export function replayCursor(header: number | string | string[] | undefined, after: number | undefined): number {
  const value = Array.isArray(header) ? header[0] : header === undefined ? undefined : String(header);
  const fromHeader = value !== undefined && /^\d+$/.test(value.trim()) ? Number(value.trim()) : undefined;
  return fromHeader ?? after ?? 0;
}
