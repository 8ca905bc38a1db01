import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ERROR_STATUS, type ErrorCode } from '../errors.js';
import { MAX_URL_BYTES } from './edge-guards.js';

/**
 * Errors raised before a route runs, in Quarry's error shape: Fastify's router (bad path encoding,
 * an over-long path parameter) and Node's HTTP parser (431 headers, malformed requests), which
 * answers on the raw socket before Fastify sees a request.
 */

/** Longest path parameter the router matches (ids are 27–28 characters); longer is a 414. */
export const MAX_PARAM_LENGTH = 100;

const send = (reply: FastifyReply, code: ErrorCode, message: string, field: string) =>
  reply.status(ERROR_STATUS[code]).send({ error: { code, message, details: [{ field, message }] } });

/** Fastify's `frameworkErrors` (router errors; the app's error handler is not in play yet). */
export function frameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  if (error.code === 'FST_ERR_BAD_URL') return send(reply, 'bad_request', 'the request path is not valid percent-encoded UTF-8', 'url');
  if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') return send(reply, 'uri_too_long', `a path parameter is longer than ${MAX_PARAM_LENGTH} characters`, 'url');
  request.log.error({ err: error }, 'router error');
  return send(reply, 'internal', 'internal error; see the service log', 'request');
}

interface ClientError extends Error {
  code?: string;
  // Node gives the bytes it was parsing; Fastify's type declares it as a serialised Buffer.
  rawPacket?: unknown;
}

function classify(err: ClientError): { code: ErrorCode; message: string; field: string } {
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    // Node counts the request line with the headers: if the line is what overflows, the URL is too long.
    const lineEnd = Buffer.isBuffer(err.rawPacket) ? err.rawPacket.indexOf('\r\n') : 0;
    return lineEnd >= 0 && lineEnd <= MAX_URL_BYTES
      ? { code: 'headers_too_large', message: 'the request headers are larger than 16 KiB', field: 'headers' }
      : { code: 'uri_too_long', message: `the request target is longer than ${MAX_URL_BYTES} bytes`, field: 'url' };
  }
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return { code: 'request_timeout', message: 'the request was not received in time', field: 'request' };
  if (err.code === 'HPE_INVALID_METHOD') return { code: 'bad_request', message: 'unsupported HTTP method', field: 'method' };
  return { code: 'bad_request', message: `malformed HTTP request (${err.code ?? 'parse error'})`, field: 'request' };
}

/** Fastify's `clientErrorHandler`: Node's parser refused the request, so the answer is written to the socket. */
export function clientErrorHandler(err: ClientError, socket: Socket) {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const { code, message, field } = classify(err);
  const status = ERROR_STATUS[code];
  const body = JSON.stringify({ error: { code, message, details: [{ field, message }] } });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}
