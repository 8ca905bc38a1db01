import type { Sql } from 'postgres';

/**
 * Most distinct statement texts prepared per process; past it, new texts run unnamed. A statement
 * whose text varies (an IN list, a multi-row VALUES) would otherwise add a prepared statement to
 * every connection each time it is sent.
 */
const MAX_PREPARED_TEXTS = 500;

/**
 * drizzle runs every query as an unnamed statement, and postgres.js sends an unnamed statement
 * with parameters in two round trips (parse and describe, then bind and execute), parsed and
 * planned again by Postgres each time. Through this wrapper, and the transactions and savepoints
 * it opens, they are prepared instead: after its first use on a connection a statement costs one
 * round trip and no parse. Queries keep their text, parameters and results.
 */
export function preparing(client: Sql, texts: Set<string> = new Set()): Sql {
  const prepare = (query: string) => texts.has(query) || (texts.size < MAX_PREPARED_TEXTS && texts.add(query) !== undefined);
  type Scope = (inner: Sql) => unknown;
  return new Proxy(client, {
    get(target, prop, receiver) {
      if (prop === 'unsafe') {
        return (query: string, args?: unknown[], options?: Record<string, unknown>) =>
          target.unsafe(query, args as never, { ...options, prepare: prepare(query) });
      }
      if (prop === 'begin' || prop === 'savepoint') {
        const open = Reflect.get(target, prop, receiver) as (...args: unknown[]) => Promise<unknown>;
        return (...args: unknown[]) => {
          const scope = args.pop() as Scope;
          return open.call(target, ...args, (inner: Sql) => scope(preparing(inner, texts)));
        };
      }
      return Reflect.get(target, prop, receiver);
    },
  });
}
