import { pipeline, Transform, type Readable } from 'node:stream';
import { request, type Agent } from 'undici';
import { matchAllowList, ToolUrlRefused, type AllowedBase } from './allow-list.js';
import { FORBIDDEN_HEADERS } from './http-request.js';
import { ResponseTooLarge } from './outcome.js';

const NO_BODY = new Set([101, 204, 205, 304]);

/**
 * A `fetch` for the MCP SDK's transport that only goes where a tool call may: each URL (the
 * server's, and any redirect the SDK chooses to follow, which comes back through here) must fall
 * under TOOLS_HTTP_ALLOW, and the socket is the guarded agent's. Redirects are never followed
 * here (`redirect: manual` semantics). A POST answer (one JSON-RPC reply or its SSE stream) is cut
 * past `maxBytes`; the long-lived GET notification stream is not, as it is not one answer.
 */
export function createGuardedFetch(options: { allow: readonly AllowedBase[]; agent: Agent; maxBytes: number }) {
  return async (input: string | URL, init?: RequestInit): Promise<Response> => {
    const url = new URL(String(input));
    const matched = matchAllowList(url, options.allow);
    if (matched instanceof ToolUrlRefused) throw matched;
    const method = (init?.method ?? 'GET').toUpperCase();
    const body = init?.body;
    if (body !== undefined && body !== null && typeof body !== 'string') throw new TypeError('guarded fetch sends string bodies only');
    const res = await request(url, {
      method,
      headers: Object.fromEntries([...new Headers(init?.headers).entries()].filter(([name]) => !FORBIDDEN_HEADERS.has(name))),
      body: body ?? undefined,
      signal: init?.signal ?? undefined,
      dispatcher: options.agent,
    });
    const headers = new Headers();
    for (const [name, value] of Object.entries(res.headers)) {
      for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value]) headers.append(name, v);
    }
    if (NO_BODY.has(res.statusCode) || method === 'HEAD') {
      await res.body.dump();
      return new Response(null, { status: res.statusCode, headers });
    }
    // pipeline (not pipe) so an abort or a socket error reaches the reader instead of stalling it.
    const stream = method === 'POST' ? pipeline(res.body, capped(options.maxBytes), () => undefined) : res.body;
    return new Response(webStream(stream), { status: res.statusCode, headers });
  };
}

function capped(maxBytes: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length;
      if (seen > maxBytes) callback(new ResponseTooLarge(maxBytes));
      else callback(null, chunk);
    },
  });
}

/** The body as the web stream a Response takes, pulled as the SDK reads it (so backpressure holds). */
function webStream(stream: Readable): ReadableStream<Uint8Array> {
  const chunks = stream[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const next: IteratorResult<Buffer> = await chunks.next();
        if (next.done) controller.close();
        else controller.enqueue(next.value);
      } catch (err) {
        controller.error(err);
      }
    },
    async cancel() {
      await chunks.return?.();
    },
  });
}
