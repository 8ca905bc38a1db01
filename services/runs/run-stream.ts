import { TERMINAL_EVENTS, type StoredEvent } from '../../db/events.repository.js';
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

/** A connected SSE or WebSocket client, as the stream sees it. */
export interface StreamClient {
  /** Writes one event; `flushed` is called once it has left the process. */
  write(frame: WireFrame, flushed: () => void): void;
  /** Bytes written to the client and not yet taken by it. */
  unsent(): number;
  /** The run ended and the client has seen its last event. */
  end(): void;
  /** The client fell too far behind: cut the connection. */
  drop(): void;
}

// Every client of a run gets the same event objects from the hub: serialise each once, not once per
// client; the SSE frame only when an SSE client asks for it.
const frames = new WeakMap<StoredEvent, WireFrame>();

function frameOf(runId: string, e: StoredEvent): WireFrame {
  let frame = frames.get(e);
  if (frame === undefined) {
    const wire: WireEvent = { seq: e.seq, type: e.type, run_id: runId, at: new Date(e.created_at).toISOString(), data: e.data };
    const json = JSON.stringify(wire);
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
  if (TERMINAL_STATUSES.has(run.status) && after >= run.eventSeq) {
    client.end();
    return () => {};
  }
  // Throws the 429 before anything is written, so the refusal still gets a JSON body.
  const release = deps.streams?.acquire(owner) ?? (() => {});
  // A cursor past the newest event cannot have been seen; clamped, the client still gets what comes
  // next, the terminal event included, instead of waiting for a seq the run may never reach.
  const cursor = Math.min(after, run.eventSeq);
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
    deliver(e) {
      if (closed) return true;
      if (closing) clearImmediate(closing);
      closing = undefined;
      client.write(frameOf(runId, e), flushed);
      // A retried run continues after its terminal event; only end if nothing follows in this batch.
      if (TERMINAL_EVENTS.has(e.type)) closing = setImmediate(finish);
      const room = client.unsent() < SLOW_CLIENT_MAX_UNSENT_BYTES;
      if (!room) watchStall();
      return room;
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
