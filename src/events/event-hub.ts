import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Database } from '../../db/client.js';
import { RUN_ENDED_CHANNEL, eventsAfter, sequenceEvents, type StoredEvent } from '../../db/events.repository.js';
import { EVENTS_CHANNEL } from '../../db/queue.repository.js';
import { endedRuns } from '../../db/runs.repository.js';

/** Where one subscriber's events go. */
export interface EventSink {
  /**
   * Takes the subscriber's next events, `page[from..]`, in order (the first follows the last it
   * took). Every subscriber of a run at the same place is handed the same page and index, so
   * whatever it derives from them (a serialised frame) can be made once and shared. Returns how far
   * it took the page (`to`, exclusive; all of it when nothing is returned) and whether it has `room`
   * for more: when not, the hub sends it nothing more, and reads nothing for it, until `resume()`.
   */
  deliver(page: readonly StoredEvent[], from: number): { to: number; room: boolean } | void;
  /** The client stayed full while its run moved on. The hub has already dropped it; disconnect it. */
  overrun?(): void;
}

export interface Subscription {
  /** The client has room again; the hub goes on from where it stopped. */
  resume(): void;
  unsubscribe(): void;
}

interface Subscriber {
  cursor: number;
  sink: EventSink;
  paused: boolean;
  /** The run's head when it became full: it is dropped only if the run moves past this while it stays full. */
  pausedAt: number;
}

interface RunGroup {
  subscribers: Set<Subscriber>;
  fetching: boolean;
  /** Something changed while a fetch was in flight (a NOTIFY, a new or resumed subscriber): go round again. */
  dirty: boolean;
  /** A NOTIFY arrived since the last round began: the run has new events. */
  notified: boolean;
  /** When a NOTIFY last started a read, and the read a NOTIFY too soon after it has scheduled. */
  readAt: number;
  /** The run's newest seq as last numbered here. */
  head: number;
  soon?: NodeJS.Timeout;
}

const PAGE = 1000;
/**
 * NOTIFYs of one run closer together than this are served by one read: fewer, larger pages, and
 * one write per client for each. A busy run commits every few ms; its watchers hear of it at most
 * this much later.
 */
const COALESCE_MS = 20;

/**
 * Fans run events out to SSE/WebSocket clients in this process. One LISTEN connection for all runs;
 * a NOTIFY says "run X has new events", and one query per run serves every client watching it.
 * Events come from the table, not the notification, so replay and live delivery are the same path.
 *
 * A page of events `> from` is handed only to subscribers whose cursor is at or past `from`, so what
 * each receives is contiguous; one that joined lower while the query was in flight is served by the
 * next round, from its own cursor. A full (slow) subscriber is left out of queries until it drains,
 * so nothing is read or held for it; if the run moves on while it stays full it is dropped.
 */
export function createEventHub(deps: { database: Database; log: Logger; backstopMs?: number }) {
  const groups = new Map<string, RunGroup>();
  /** Run id → callbacks of those waiting for it to end (Prefer: wait): they read no events at all. */
  const waiters = new Map<string, Set<() => void>>();
  const unlisteners: Array<() => Promise<void>> = [];
  let timer: NodeJS.Timeout | undefined;

  async function pump(runId: string): Promise<void> {
    const group = groups.get(runId);
    if (!group) return;
    if (group.fetching) {
      group.dirty = true;
      return;
    }
    group.fetching = true;
    try {
      for (;;) {
        group.dirty = false;
        const notified = group.notified;
        group.notified = false;
        const full = [...group.subscribers].filter((s) => s.paused);
        const ready = [...group.subscribers].filter((s) => !s.paused);
        if (ready.length === 0 && !(notified && full.length > 0)) break;
        // Numbers what has been committed since (whoever else watches the run may have done it already).
        const { head, more } = await sequenceEvents(deps.database.db, runId);
        group.head = Math.max(group.head, head);
        if (more) group.dirty = true;
        const from = ready.length > 0 ? Math.min(...ready.map((s) => s.cursor)) : undefined;
        const page = from === undefined || from >= head ? [] : await eventsAfter(deps.database.db, runId, from, PAGE);
        if (page.length > 0) {
          for (const sub of [...group.subscribers]) if (!sub.paused && sub.cursor >= from!) deliver(group, sub, page);
        }
        if (notified && full.length > 0) await dropOverrun(runId, group, full, head);
        if (page.length < PAGE && !group.dirty) break;
      }
    } catch (err) {
      deps.log.warn({ err, runId }, 'reading run events failed; the backstop poll will retry');
    } finally {
      group.fetching = false;
    }
  }

  function deliver(group: RunGroup, sub: Subscriber, page: StoredEvent[]): void {
    let from = 0;
    while (from < page.length && page[from].seq <= sub.cursor) from++;
    if (from === page.length) return;
    let taken: { to: number; room: boolean } | void;
    try {
      taken = sub.sink.deliver(page, from);
    } catch (err) {
      deps.log.warn({ err, seq: page[from].seq }, 'an event subscriber failed; dropping it');
      group.subscribers.delete(sub);
      return;
    }
    const to = taken ? Math.max(from, Math.min(taken.to, page.length)) : page.length;
    if (to > 0) sub.cursor = Math.max(sub.cursor, page[to - 1].seq);
    if (taken && !taken.room && group.subscribers.has(sub)) {
      sub.paused = true;
      sub.pausedAt = group.head;
    }
  }

  /**
   * Drops the subscribers that were full before this round began and still are after a turn of the
   * event loop (time for their sockets to flush) while their run has events they were not sent.
   */
  async function dropOverrun(runId: string, group: RunGroup, full: Subscriber[], head: number): Promise<void> {
    await nextTurn();
    const stuck = full.filter((s) => s.paused && group.subscribers.has(s));
    if (stuck.length === 0) return;
    for (const sub of stuck) {
      // A NOTIFY that brought nothing new since it became full (a duplicate) drops no one.
      if (!sub.paused || !group.subscribers.has(sub) || head <= sub.pausedAt) continue;
      group.subscribers.delete(sub);
      deps.log.info({ runId, seq: sub.cursor, behind: head - sub.cursor }, 'dropped an event stream client that stopped reading');
      try {
        sub.sink.overrun?.();
      } catch (err) {
        deps.log.warn({ err, runId }, 'disconnecting a slow event stream client failed');
      }
    }
    if (group.subscribers.size === 0 && groups.get(runId) === group) groups.delete(runId);
  }

  function notified(runId: string): void {
    const group = groups.get(runId);
    if (!group) return;
    group.notified = true;
    if (group.soon) return;
    const wait = group.readAt + COALESCE_MS - Date.now();
    const read = () => {
      group.soon = undefined;
      group.readAt = Date.now();
      void pump(runId);
    };
    if (wait <= 0) read();
    else (group.soon = setTimeout(read, wait)).unref();
  }

  function ended(runId: string): void {
    const callbacks = waiters.get(runId);
    if (!callbacks) return;
    waiters.delete(runId);
    for (const callback of callbacks) callback();
  }

  /** The backstop for lost NOTIFYs: one query for every run waited on in this process. */
  async function checkWaited(): Promise<void> {
    if (waiters.size === 0) return;
    try {
      for (const runId of await endedRuns(deps.database.db, [...waiters.keys()])) ended(runId);
    } catch (err) {
      deps.log.warn({ err }, 'checking waited-on runs failed; the next poll will retry');
    }
  }

  return {
    async start() {
      unlisteners.push(await deps.database.listen(EVENTS_CHANNEL, notified), await deps.database.listen(RUN_ENDED_CHANNEL, ended));
      // NOTIFY is lost while a listener reconnects; a slow poll of watched runs covers the gap.
      timer = setInterval(() => {
        groups.forEach((_, runId) => void pump(runId));
        void checkWaited();
      }, deps.backstopMs ?? 2000);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      await Promise.all(unlisteners.splice(0).map((u) => u().catch(() => {})));
      groups.clear();
      waiters.clear();
    },
    /**
     * Calls `onEnded` once the run has ended (or at once if it already has). Costs nothing per
     * event: it listens for the run's end, and the backstop poll reads its status. Returns the cancel.
     */
    waitForEnd(runId: string, onEnded: () => void): () => void {
      let callbacks = waiters.get(runId);
      if (!callbacks) waiters.set(runId, (callbacks = new Set()));
      let called = false;
      const once = () => {
        if (called) return;
        called = true;
        onEnded();
      };
      callbacks.add(once);
      // The run may have ended before the listener heard of this waiter.
      void endedRuns(deps.database.db, [runId]).then((ids) => ids.length > 0 && ended(runId), () => {});
      return () => {
        called = true;
        const set = waiters.get(runId);
        set?.delete(once);
        if (set?.size === 0) waiters.delete(runId);
      };
    },
    /** A seq the run's log is known to reach (numbered by this process's reads); 0 if none is known. */
    knownHead: (runId: string) => groups.get(runId)?.head ?? 0,
    /** Delivers every event with seq > after, in order and once each, then live ones. */
    subscribe(runId: string, after: number, sink: EventSink): Subscription {
      let group = groups.get(runId);
      if (!group) groups.set(runId, (group = { subscribers: new Set(), fetching: false, dirty: false, notified: false, readAt: 0, head: 0 }));
      const sub: Subscriber = { cursor: after, sink, paused: false, pausedAt: 0 };
      group.subscribers.add(sub);
      void pump(runId);
      return {
        resume() {
          if (!sub.paused || !group.subscribers.has(sub)) return;
          sub.paused = false;
          void pump(runId);
        },
        unsubscribe() {
          group.subscribers.delete(sub);
          if (group.subscribers.size === 0 && groups.get(runId) === group) groups.delete(runId);
        },
      };
    },
  };
}

export type EventHub = ReturnType<typeof createEventHub>;
