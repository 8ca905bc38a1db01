// What the batch endpoints of the fake teacher share: the request they get, text answers, paging.
import type http from 'node:http';

export interface BatchRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  raw: string;
  contentType: string;
  /** `http://host:port` as the client called it: Anthropic's `results_url` is absolute. */
  origin: string;
  res: http.ServerResponse;
}

/** A non-JSON body: file contents and JSONL results. */
export function sendText(res: http.ServerResponse, status: number, text: string, contentType: string): void {
  if (res.headersSent || res.destroyed) return;
  const requestId = `req_fake_${Date.now().toString(36)}`;
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text), 'x-request-id': requestId, 'request-id': requestId });
  res.end(text);
}

export const jsonl = (lines: unknown[]): string => lines.map((line) => `${JSON.stringify(line)}\n`).join('');

/**
 * A page of `items` (newest first) after the item `after` (exclusive), as both list endpoints page:
 * `limit` defaults to 20 and is capped at `max`. Undefined when the limit is not a number in range.
 */
export function page<T extends { id: string }>(items: T[], after: string | null, limit: string | null, max: number): { data: T[]; has_more: boolean } | undefined {
  const size = limit === null ? 20 : Number(limit);
  if (!Number.isInteger(size) || size < 1 || size > max) return undefined;
  const start = after ? items.findIndex((b) => b.id === after) + 1 : 0;
  const data = items.slice(start, start + size);
  return { data, has_more: start + size < items.length };
}

export const isObject = (v: unknown): v is Record<string, any> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function parseJsonBody(raw: string): unknown {
  try {
    return raw ? JSON.parse(raw) : undefined;
  } catch {
    return undefined;
  }
}
