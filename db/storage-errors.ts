import { databaseUnavailable } from './unavailable.js';

/**
 * What a failed database call says about itself, without its SQL or parameters (drizzle's
 * `Failed query: … params: …` message carries the whole payload; the driver's error under it does not).
 */
interface DriverError {
  code?: string;
  message?: string;
  constraint?: string;
  constraint_name?: string;
}

/** The first error in the cause chain that carries a code (postgres.js and PGlite both set `code`), else the innermost. */
function driverError(err: unknown): DriverError {
  let e = (err ?? {}) as DriverError & { cause?: unknown };
  for (let depth = 0; depth < 5 && typeof e.code !== 'string' && e.cause && typeof e.cause === 'object'; depth++) e = e.cause as typeof e;
  return e;
}

const SQLSTATE = /^[0-9A-Z]{5}$/;
// Connection loss, serialization and deadlock, resources, shutdown, lock timeouts: the database's
// state, not the data's. Anything else with a SQLSTATE (constraints, bad input) fails the same way again.
const TRANSIENT_CLASSES = new Set(['08', '40', '53', '57', '58']);

/** True when trying the same write again later may succeed. Driver codes that are not SQLSTATEs are connection errors. */
export function isTransientStorageError(err: unknown): boolean {
  // Out of reach (a closed PGlite included, which sets no code) is the database's state, never the data's.
  if (databaseUnavailable(err)) return true;
  const { code } = driverError(err);
  if (code === undefined) return false;
  if (!SQLSTATE.test(code)) return true;
  return TRANSIENT_CLASSES.has(code.slice(0, 2)) || code === '55P03';
}

/** A short, parameter-free description: the driver's message, SQLSTATE and constraint. */
export function describeStorageError(err: unknown): string {
  const e = driverError(err);
  const constraint = e.constraint ?? e.constraint_name;
  const message = (e.message ?? String(err)).split('\n')[0];
  // A driver message names tables and constraints, never values; a bare Error's message is ours.
  const text = typeof e.code === 'string' ? message : `internal error: ${message}`;
  return [text.slice(0, 300), e.code && `(SQLSTATE ${e.code}${constraint ? `, constraint ${constraint}` : ''})`].filter(Boolean).join(' ');
}

/** For logs: code and constraint, never the query or its parameters. */
export function storageErrorSummary(err: unknown): { code?: string; constraint?: string; message: string } {
  const e = driverError(err);
  return { code: e.code, constraint: e.constraint ?? e.constraint_name, message: describeStorageError(err) };
}
