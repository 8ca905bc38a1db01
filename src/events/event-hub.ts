import type { Logger } from 'pino';
import type { Database } from '../../db/client.js';
import { eventsAfter, type StoredEvent } from '../../db/events.repository.js';
import { EVENTS_CHANNEL } from '../../db/queue.repository.js';

type Listener = (event: StoredEvent) => void;

interface Subscriber {
  cursor: number;
  listener: Listener;
}

interface RunGroup {
  subscribers: Set<Subscriber>;
  fetching: boolean;
  dirty: boolean;
}

const PAGE = 1000;

/**
 * Fans run events out to SSE/WebSocket clients in this process. One LISTEN connection for all runs;
 * a NOTIFY says "run X has new events", and one query per run serves every client watching it.
 * Events come from the table, not the notification, so replay and live delivery are the same path.
 */
export function createEventHub(deps: { database: Database; log: Logger; backstopMs?: number }) {
  const groups = new Map<string, RunGroup>();
  let unlisten: (() => Promise<void>) | undefined;
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
        if (group.subscribers.size === 0) break;
        const from = Math.min(...[...group.subscribers].map((s) => s.cursor));
        const events = await eventsAfter(deps.database.db, runId, from, PAGE);
        for (const sub of [...group.subscribers]) {
          for (const e of events) {
            if (e.seq <= sub.cursor) continue;
            sub.cursor = e.seq;
            sub.listener(e);
          }
        }
        if (events.length < PAGE && !group.dirty) break;
      }
    } catch (err) {
      deps.log.warn({ err, runId }, 'reading run events failed; the backstop poll will retry');
    } finally {
      group.fetching = false;
    }
  }

  return {
    async start() {
      unlisten = await deps.database.listen(EVENTS_CHANNEL, (runId) => void pump(runId));
      // NOTIFY is lost while a listener reconnects; a slow poll of watched runs covers the gap.
      timer = setInterval(() => groups.forEach((_, runId) => void pump(runId)), deps.backstopMs ?? 2000);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      await unlisten?.().catch(() => {});
      groups.clear();
    },
    /** Delivers every event with seq > after, in order, then live ones. Returns the unsubscribe. */
    subscribe(runId: string, after: number, listener: Listener): () => void {
      let group = groups.get(runId);
      if (!group) groups.set(runId, (group = { subscribers: new Set(), fetching: false, dirty: false }));
      const sub = { cursor: after, listener };
      group.subscribers.add(sub);
      void pump(runId);
      return () => {
        group.subscribers.delete(sub);
        if (group.subscribers.size === 0 && groups.get(runId) === group) groups.delete(runId);
      };
    },
  };
}

export type EventHub = ReturnType<typeof createEventHub>;
