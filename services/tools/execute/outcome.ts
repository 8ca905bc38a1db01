import type { Readable } from 'node:stream';
import { ToolUrlRefused } from './allow-list.js';

/** A call that must not be retried: a refusal by the allow list, a bad request, a too-large answer. */
export const refused = (reason: string) => ({ ok: false as const, reason, retryable: false });

/** An answer over the size cap, thrown where the cap is enforced inside a client (the MCP transport). */
export class ResponseTooLarge extends Error {
  constructor(maxBytes: number) {
    super(`response larger than ${maxBytes} bytes (the cap for a tool result)`);
    this.name = 'ResponseTooLarge';
  }
}

/** The refusal inside an error, however deep the client wrapped it (`cause` chains, AggregateError). */
export function findRefusal(err: unknown, depth = 0): ToolUrlRefused | ResponseTooLarge | undefined {
  if (err instanceof ToolUrlRefused || err instanceof ResponseTooLarge) return err;
  if (!(err instanceof Error) || depth > 5) return undefined;
  if (err instanceof AggregateError) for (const inner of err.errors) {
    const found = findRefusal(inner, depth + 1);
    if (found) return found;
  }
  return findRefusal(err.cause, depth + 1);
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = 'code' in err && typeof err.code === 'string' ? `${err.code}: ` : '';
  const cause = err.cause instanceof Error ? ` (${describe(err.cause)})` : '';
  return `${code}${err.message}${cause}`;
}

/** An error thrown by a call: refusals are final, timeouts and connection errors are worth another try. */
export function callFailure(err: unknown, timedOut: boolean, timeoutMs: number) {
  const refusal = findRefusal(err);
  if (refusal) return refused(refusal.message);
  // undici refusing the request itself (a header value it cannot send): the same call fails again.
  if (err instanceof Error && 'code' in err && err.code === 'UND_ERR_INVALID_ARG') return refused(`request not sendable: ${err.message}`);
  if (timedOut) return { ok: false as const, reason: `timed out after ${timeoutMs} ms`, retryable: true };
  return { ok: false as const, reason: `call failed: ${describe(err)}`, retryable: true };
}

/**
 * Reads a response body up to `maxBytes`: a declared Content-Length above it is refused unread,
 * and a body that grows past it is cut off as soon as it does.
 */
export async function readCapped(body: Readable, contentLength: string | string[] | undefined, maxBytes: number) {
  const tooLarge = refused(new ResponseTooLarge(maxBytes).message);
  if (typeof contentLength === 'string' && Number(contentLength) > maxBytes) {
    body.destroy();
    return tooLarge;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    if (size > maxBytes) {
      body.destroy();
      return tooLarge;
    }
    chunks.push(buffer);
  }
  return { ok: true as const, text: Buffer.concat(chunks).toString('utf8') };
}
