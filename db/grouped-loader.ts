import DataLoader from 'dataloader';

/**
 * A DataLoader that groups like a group commit: while none of its statements is running, a load
 * goes at the end of the current tick (with the others of that tick); while one is, loads wait
 * for it and then go together as the next statement. Alone, a load waits for nothing; under load,
 * statements carry as many loads as came meanwhile (at most `maxBatchSize`).
 */
export function groupedLoader<K, V>(load: (keys: readonly K[]) => Promise<ArrayLike<V | Error>>, maxBatchSize: number): DataLoader<K, V> {
  let running = 0;
  let waiting: Array<() => void> = [];
  return new DataLoader<K, V>(
    async (keys) => {
      running++;
      try {
        return await load(keys);
      } finally {
        if (--running === 0) {
          const next = waiting;
          waiting = [];
          for (const dispatch of next) dispatch();
        }
      }
    },
    { cache: false, maxBatchSize, batchScheduleFn: (dispatch) => (running === 0 ? process.nextTick(dispatch) : waiting.push(dispatch)) },
  );
}
