import { setImmediate as turn } from 'node:timers/promises';

/**
 * Long synchronous work (planning a big run, reading a big import) calls `pace()` in its loop; it
 * yields to the event loop once `sliceMs` of work has passed, so requests and heartbeats keep being
 * served (issue 7: nothing holds the loop for more than ~50 ms at a time).
 */
export function pacer(sliceMs = 10): () => Promise<void> | undefined {
  let since = performance.now();
  return () => {
    if (performance.now() - since < sliceMs) return undefined;
    return turn().then(() => {
      since = performance.now();
    });
  };
}

/**
 * A full turn of the event loop, timers included: a planner takes it first, so parsing the request
 * body and its own work are two stalls, not one (a setImmediate from an I/O callback would run in
 * the same turn).
 */
export const nextTurn = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));
