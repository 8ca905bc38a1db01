import { TERMINAL_EVENTS, type StoredEvent } from '../../db/events.repository.js';
import { TERMINAL_STATUSES } from './run-view.js';
import { requireRun, type RunsDeps } from './runs.service.js';

export interface WireEvent {
  seq: number;
  type: string;
  run_id: string;
  at: string;
  data: Record<string, unknown>;
}

/**
 * Streams a run's events after `after` to `send`, calling `end` once the run has ended and the
 * client has seen its last event. Shared by SSE and WebSocket so both replay identically.
 */
export async function openRunStream(
  deps: RunsDeps,
  owner: string,
  runId: string,
  after: number,
  send: (event: WireEvent) => void,
  end: () => void,
): Promise<() => void> {
  const run = await requireRun(deps, owner, runId);
  if (TERMINAL_STATUSES.has(run.status) && after >= run.eventSeq) {
    end();
    return () => {};
  }
  let closing: NodeJS.Immediate | undefined;
  let closed = false;
  const unsubscribe = deps.hub.subscribe(runId, after, (e: StoredEvent) => {
    if (closed) return;
    if (closing) clearImmediate(closing);
    closing = undefined;
    send({ seq: e.seq, type: e.type, run_id: runId, at: new Date(e.created_at).toISOString(), data: e.data });
    // A retried run continues after its terminal event; only end if nothing follows in this batch.
    if (TERMINAL_EVENTS.has(e.type)) closing = setImmediate(close);
  });
  function close() {
    if (closed) return;
    closed = true;
    if (closing) clearImmediate(closing);
    unsubscribe();
    end();
  }
  return () => {
    closed = true;
    if (closing) clearImmediate(closing);
    unsubscribe();
  };
}

/** `Last-Event-ID` header wins over `?after=`; both are a run event seq. */
export function replayCursor(header: string | string[] | undefined, after: number | undefined): number {
  const value = Array.isArray(header) ? header[0] : header;
  const fromHeader = value !== undefined && /^\d+$/.test(value.trim()) ? Number(value.trim()) : undefined;
  return fromHeader ?? after ?? 0;
}
