/**
 * Errors that mean "the database cannot be reached right now" rather than "this query is wrong":
 * the caller may retry, so the API answers 503 with Retry-After instead of 500.
 */

// Socket errors (postgres.js passes them through) and postgres.js's own connection errors.
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
]);

// SQLSTATE: class 08 (connection exception), 57P01–57P03 (admin/crash shutdown, cannot connect
// now: a restart or failover), 53300 (too many connections).
const UNAVAILABLE_SQLSTATE = /^(08...|57P0[123]|53300)$/;

// PGlite after close(): the embedded database is going away with the process.
const PGLITE_CLOSED = /^PGlite is clos(ed|ing)$/;

/**
 * Why the database is out of reach, when `err` or an error it wraps (drizzle puts the driver error
 * in `cause`) says so: the driver's code (`ECONNREFUSED`, `57P01`, …) or PGlite's message. Undefined
 * for every other error. Never the query or its parameters, so it can be logged.
 */
export function databaseUnavailable(err: unknown): string | undefined {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, message } = e as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && (CONNECTION_CODES.has(code) || UNAVAILABLE_SQLSTATE.test(code))) return code;
    if (typeof message === 'string' && PGLITE_CLOSED.test(message)) return message;
  }
  return undefined;
}
