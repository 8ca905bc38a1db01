import type { FastifyRequest } from 'fastify';
import type { AnyFastify } from './types.js';
import { AppError } from '../errors.js';
import { findJsonLinesRefusal, findRefusal, refusalError, stringProblem, type Refusal } from '../safe-input.js';

/** Longest request target (path and query) accepted; longer gets 414. Node refuses the request line and headers together above 16 KiB (431). */
export const MAX_URL_BYTES = 8192;

/** Request headers Quarry reads; the others are never stored or echoed. */
const READ_HEADERS = ['idempotency-key', 'last-event-id', 'prefer'];

const JSON_LINES = /^application\/(x-ndjson|jsonl|x-jsonlines)\b/i;

/**
 * `?status=%ED%A0%80`: percent-escapes that do not decode to UTF-8 would otherwise reach the route
 * as raw text. A `%` not followed by two hex digits (`?num_samples=50%`) is literal, as the parser reads it.
 */
function badQueryEncoding(url: string): Refusal | undefined {
  const q = url.indexOf('?');
  if (q < 0) return undefined;
  for (const pair of url.slice(q + 1).split('&')) {
    for (const escapes of pair.match(/(?:%[0-9a-fA-F]{2})+/g) ?? []) {
      try {
        decodeURIComponent(escapes);
      } catch {
        const key = pair.split('=')[0];
        return { field: key.includes(escapes) ? 'query' : key, message: 'is not valid percent-encoded UTF-8' };
      }
    }
  }
  return undefined;
}

function bodyRefusal(request: FastifyRequest): Refusal | undefined {
  const { body } = request;
  if (typeof body === 'string') {
    if (JSON_LINES.test(request.headers['content-type'] ?? '')) return findJsonLinesRefusal(body);
    // Other text bodies (YAML) are checked by the service once parsed; a raw NUL is refused here.
    return body.includes('\0') ? { field: 'body', message: stringProblem(body)! } : undefined;
  }
  return findRefusal(body, '');
}

/**
 * Refuses at the edge, for every route and before validation or any work, what Quarry could not
 * store or read back: NUL and unpaired surrogates in any string or key of the query, path, body
 * or the headers Quarry reads; `__proto__`/`constructor` keys; over-deep nesting; query strings
 * that are not UTF-8; request targets longer than MAX_URL_BYTES.
 */
export function installEdgeGuards(app: AnyFastify) {
  app.addHook('onRequest', async (request) => {
    if (Buffer.byteLength(request.url) > MAX_URL_BYTES) {
      throw new AppError('uri_too_long', `the request target is longer than ${MAX_URL_BYTES} bytes`, [{ field: 'url', message: `longer than ${MAX_URL_BYTES} bytes` }]);
    }
  });
  app.addHook('preValidation', async (request) => {
    const refusal =
      badQueryEncoding(request.url) ??
      findRefusal(request.params, '') ??
      findRefusal(request.query, '') ??
      READ_HEADERS.map((h) => {
        const value = request.headers[h];
        const problem = typeof value === 'string' ? stringProblem(value) : undefined;
        return problem ? { field: h, message: problem } : undefined;
      }).find(Boolean) ??
      bodyRefusal(request);
    if (refusal) throw refusalError(refusal);
  });
}
