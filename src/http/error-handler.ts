import type { FastifyError } from 'fastify';
import type { AnyFastify } from './types.js';
import { AppError, ERROR_STATUS, type ErrorCode, type ErrorDetail } from '../errors.js';
import { RateLimited } from '../rate-limited.js';
import { databaseUnavailable } from '../../db/unavailable.js';

/** Seconds a client is asked to wait when the database is out of reach. */
const UNAVAILABLE_RETRY_AFTER_SECONDS = 5;

interface AjvError {
  instancePath: string;
  message?: string;
  keyword: string;
  params: Record<string, unknown>;
}

/** `/documents/0/text` + context → `documents.0.text` (body) or `format` (query, params, headers). */
function fieldOf(e: AjvError, context: string | undefined): string {
  const parts = e.instancePath.split('/').filter(Boolean);
  if (e.keyword === 'required') parts.push(String(e.params.missingProperty));
  if (e.keyword === 'additionalProperties') parts.push(String(e.params.additionalProperty));
  const path = parts.join('.');
  if (context === 'body') return path || 'body';
  return path || context || 'request';
}

function messageOf(e: AjvError): string {
  if (e.keyword === 'additionalProperties') return 'is not a known field';
  if (e.keyword === 'required') return 'is required';
  if (e.keyword === 'enum' || e.keyword === 'const') {
    const allowed = (e.params.allowedValues ?? [e.params.allowedValue]) as unknown[];
    return `must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}`;
  }
  return e.message ?? 'is invalid';
}

const FASTIFY_CODES: Record<string, { code: ErrorCode; message: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'payload_too_large', message: 'the request body is larger than the limit' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { code: 'unsupported_media_type', message: 'unsupported Content-Type; send application/json (or application/x-ndjson where documented)' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: 'bad_request', message: 'the JSON body is empty' },
  FST_ERR_CTP_INVALID_JSON_BODY: { code: 'bad_request', message: 'the body is not valid JSON' },
};

/** One place maps every error to `{ error: { code, message, details } }`; 5xx never leak internals. */
export function installErrorHandler(app: AnyFastify) {
  app.setErrorHandler((err: FastifyError & { validation?: AjvError[]; validationContext?: string }, request, reply) => {
    if (err instanceof AppError) {
      if (err instanceof RateLimited) reply.header('retry-after', String(err.retryAfterSeconds));
      return reply.status(err.status).send({ error: { code: err.code, message: err.message, details: err.details } });
    }
    if (err.validation) {
      // Unions report one error per branch; the first error per field is the useful one.
      const seen = new Set<string>();
      const details: ErrorDetail[] = [];
      for (const e of err.validation) {
        const field = fieldOf(e, err.validationContext);
        if (seen.has(field)) continue;
        seen.add(field);
        details.push({ field, message: messageOf(e) });
      }
      const message = details.map((d) => `${d.field} ${d.message}`).join('; ');
      return reply.status(400).send({ error: { code: 'validation_failed', message, details } });
    }
    const known = err.code ? FASTIFY_CODES[err.code] : undefined;
    if (known || (err instanceof SyntaxError && err.statusCode === 400)) {
      const { code, message } = known ?? FASTIFY_CODES.FST_ERR_CTP_INVALID_JSON_BODY;
      return reply.status(ERROR_STATUS[code]).send({ error: { code, message, details: [{ field: 'body', message: err.message }] } });
    }
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      const code = (Object.keys(ERROR_STATUS) as ErrorCode[]).find((c) => ERROR_STATUS[c] === err.statusCode) ?? 'bad_request';
      return reply.status(err.statusCode).send({ error: { code, message: err.message, details: [{ field: 'request', message: err.message }] } });
    }
    const unavailable = databaseUnavailable(err);
    if (unavailable) {
      request.log.warn({ reason: unavailable }, 'database unavailable');
      return reply
        .status(503)
        .header('retry-after', String(UNAVAILABLE_RETRY_AFTER_SECONDS))
        .send({ error: { code: 'unavailable', message: 'the database is unavailable; retry shortly', details: [] } });
    }
    request.log.error({ err }, 'unhandled error');
    return reply.status(500).send({ error: { code: 'internal', message: 'internal error; see the service log', details: [] } });
  });

  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({ error: { code: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}`, details: [] } }),
  );
}
