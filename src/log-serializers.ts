/**
 * Errors are logged as ids and sizes, never payloads. Driver errors carry the query and its
 * parameters (drizzle puts them in the message too: "Failed query: … params: …"), so a failed insert
 * of a 1 MB document would log the document, several times over. This serializer keeps what helps
 * an operator (type, code, a capped message and stack, the cause chain) and drops the rest.
 */

/** Longest message (and stack) kept, in characters. */
export const MAX_LOGGED_MESSAGE = 2048;
/** Longest other string field kept (e.g. Postgres `detail`, which can quote a row's values). */
const MAX_FIELD = 512;
const MAX_CAUSES = 3;
const MAX_FIELDS = 20;

/** Fields that hold SQL text or bound values (drizzle, postgres.js, PGlite) or the error's own input. */
const PAYLOAD_FIELDS = new Set(['query', 'params', 'parameters', 'args', 'types', 'queryOptions', 'raw', 'body', 'payload', 'input', 'data']);

const cap = (s: string, max: number) => (s.length <= max ? s : `${s.slice(0, max)}… [${s.length - max} more characters]`);

/** "Failed query: <sql>\nparams: <values>" → the SQL (capped) without the values. */
function withoutParams(message: string): string {
  const at = message.indexOf('\nparams:');
  return at < 0 ? message : `${message.slice(0, at)}\nparams: [omitted]`;
}

function safeMessage(message: unknown): string {
  return cap(withoutParams(String(message)), MAX_LOGGED_MESSAGE);
}

/** The stack's frames only: its first lines repeat the message, parameters included. */
function safeStack(type: string, message: string, stack: unknown): string | undefined {
  if (typeof stack !== 'string') return undefined;
  const frames = stack.split('\n').filter((l) => /^\s+at /.test(l)).join('\n');
  return cap(`${type}: ${message}\n${frames}`, MAX_LOGGED_MESSAGE * 2);
}

function isErrorLike(value: unknown): value is { message: unknown; [key: string]: unknown } {
  return value instanceof Error || (typeof value === 'object' && value !== null && typeof (value as { message?: unknown }).message === 'string');
}

function serialize(err: unknown, depth: number): unknown {
  if (!isErrorLike(err)) return typeof err === 'string' ? safeMessage(err) : err;
  const type = err instanceof Error ? err.constructor?.name || err.name : 'Object';
  const message = safeMessage(err.message);
  const out: Record<string, unknown> = { type, message };
  const stack = safeStack(type, message, err.stack);
  if (stack) out.stack = stack;
  let kept = 0;
  for (const key of Object.keys(err)) {
    if (key === 'message' || key === 'stack' || key === 'cause' || PAYLOAD_FIELDS.has(key) || kept >= MAX_FIELDS) continue;
    const value = err[key];
    if (typeof value === 'string') out[key] = cap(value, MAX_FIELD);
    else if (typeof value === 'number' || typeof value === 'boolean' || value === null) out[key] = value;
    else if (Array.isArray(value)) out[key] = `[array of ${value.length}]`;
    else continue;
    kept += 1;
  }
  if (err.cause !== undefined) out.cause = depth < MAX_CAUSES ? serialize(err.cause, depth + 1) : '[more causes omitted]';
  return out;
}

/** pino serializer for `err` (and for errors passed as the first argument). */
export const errSerializer = (err: unknown) => serialize(err, 0);

/**
 * Request lines name the route and the caller, not what it sent: a query string can carry a whole
 * system prompt, so only its size is logged.
 */
export function reqSerializer(req: { method?: string; url?: string; ip?: string; socket?: { remoteAddress?: string } }) {
  const url = String(req.url ?? '');
  const q = url.indexOf('?');
  return {
    method: req.method,
    url: cap(q < 0 ? url : url.slice(0, q), MAX_FIELD),
    ...(q < 0 ? {} : { query_bytes: Buffer.byteLength(url) - q - 1 }),
    remoteAddress: req.ip ?? req.socket?.remoteAddress,
  };
}

export const logSerializers = { err: errSerializer, error: errSerializer, req: reqSerializer };
