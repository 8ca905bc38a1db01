import type { ServerResponse } from 'node:http';

/**
 * Server-Sent Events framing (the WHATWG event-stream format), in one place: the run event route
 * writes these frames, run-stream caches them per event, and tests parse them back.
 */

export interface SseEvent {
  /** Becomes the client's Last-Event-ID. */
  id?: string | number;
  /** The event type (`message` when absent). */
  event?: string;
  /** Any text; each of its lines is sent as a `data:` line and the client joins them with "\n". */
  data: string;
}

const LINE_BREAK = /\r\n|\r|\n/;

// A line break in a field value would start a field of its own, and an id with NUL is ignored by
// clients: both are dropped rather than let through.
const fieldValue = (value: string | number) => String(value).replace(/[\r\n\0]/g, '');

/** One event: `id:` and `event:` lines, one `data:` line per line of data, then the blank line that dispatches it. */
export function sseEvent({ id, event, data }: SseEvent): string {
  let frame = '';
  if (id !== undefined) frame += `id: ${fieldValue(id)}\n`;
  if (event !== undefined) frame += `event: ${fieldValue(event)}\n`;
  for (const line of data.split(LINE_BREAK)) frame += `data: ${line}\n`;
  return `${frame}\n`;
}

/** A comment: clients ignore it; proxies see bytes on an idle stream. */
export function sseComment(text: string): string {
  return `${text
    .split(LINE_BREAK)
    .map((line) => `: ${line}\n`)
    .join('')}\n`;
}

/** Tells the client how long to wait before reconnecting after the stream ends. */
export const sseRetry = (ms: number) => `retry: ${Math.max(0, Math.floor(ms))}\n\n`;

export const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  connection: 'keep-alive',
  // nginx buffers responses by default; an event must reach the client when it happens.
  'x-accel-buffering': 'no',
} as const;

export interface SseStream {
  /** Writes a frame (from sseEvent or sseComment); `flushed` is called once it has left the process. */
  write(frame: string | Buffer, flushed?: () => void): void;
  /** Ends the stream after what was written. */
  end(): void;
  /** Ends the stream and then its connection (the server is going away; the client reconnects elsewhere). */
  close(): void;
  /** Cuts the connection. */
  destroy(): void;
}

/**
 * Starts an event stream on a raw response: the headers, the reconnect delay, and a keep-alive
 * comment every `keepAliveMs` so proxies do not close a quiet stream. The keep-alives stop when
 * the stream ends, however it ends.
 */
export function openSseStream(raw: ServerResponse, options: { keepAliveMs: number; retryMs: number }): SseStream {
  raw.writeHead(200, SSE_HEADERS);
  raw.write(sseRetry(options.retryMs));
  const keepAlive = setInterval(() => raw.write(sseComment('keep-alive')), options.keepAliveMs);
  const stop = () => clearInterval(keepAlive);
  raw.once('close', stop);
  return {
    write: (frame, flushed) => raw.write(frame, flushed),
    end() {
      stop();
      raw.end();
    },
    close() {
      stop();
      raw.end(() => raw.socket?.destroy());
    },
    destroy() {
      stop();
      raw.destroy();
    },
  };
}
