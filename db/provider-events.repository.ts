import type { ProviderEventSink } from '../src/llm/rate/rate-events.js';
import type { Db } from './client.js';
import { appendEvents } from './events.repository.js';

/**
 * `provider.throttled` / `provider.resumed` into the log of each run whose calls wait on the
 * provider: one transaction for all of them. The event hub numbers and delivers them like any other.
 */
export function providerEventSink(db: Db): ProviderEventSink {
  return async (runIds, event) => {
    const unique = [...new Set(runIds)];
    if (unique.length === 0) return;
    await db.transaction(async (tx) => {
      for (const runId of unique) await appendEvents(tx, runId, [{ type: event.type, data: event.data }]);
    });
  };
}
