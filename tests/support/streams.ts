import WebSocket from 'ws';

export interface WireEvent {
  seq: number;
  type: string;
  run_id: string;
  data: Record<string, any>;
}

/** Reads an SSE stream to its end with fetch (a real socket), parsing `id:`/`event:`/`data:` frames. */
export async function readSse(url: string, headers: Record<string, string> = {}, options: { stopAfter?: number; until?: (e: WireEvent) => boolean; onEvent?: (e: WireEvent) => void } = {}) {
  const controller = new AbortController();
  const res = await fetch(url, { headers, signal: controller.signal });
  const events: Array<WireEvent & { id: string; event: string }> = [];
  const comments: string[] = [];
  if (!res.ok || !res.body) return { status: res.status, events, comments, body: await res.text() };
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let idx;
      while ((idx = buffer.indexOf('\n\n')) >= 0) {
        const frame = buffer.slice(0, idx);
        buffer = buffer.slice(idx + 2);
        const fields: Record<string, string> = {};
        for (const line of frame.split('\n')) {
          if (line.startsWith(':')) comments.push(line.slice(1).trim());
          const m = /^(\w+): ?(.*)$/.exec(line);
          if (m) fields[m[1]] = m[2];
        }
        if (fields.data) events.push({ ...JSON.parse(fields.data), id: fields.id, event: fields.event });
        if (fields.data) options.onEvent?.(events[events.length - 1]);
        if ((options.stopAfter && events.length >= options.stopAfter) || (fields.data && options.until?.(events[events.length - 1]))) {
          controller.abort();
          return { status: res.status, events, comments, contentType: res.headers.get('content-type') };
        }
      }
    }
  } catch (err) {
    if ((err as Error).name !== 'AbortError') throw err;
  }
  return { status: res.status, events, comments, contentType: res.headers.get('content-type') };
}

/** Reads a WebSocket event stream until the server closes it (or `stopAfter` events). */
export function readWs(url: string, options: { stopAfter?: number; headers?: Record<string, string>; onEvent?: (e: WireEvent) => void } = {}) {
  return new Promise<{ events: WireEvent[]; code: number }>((resolve, reject) => {
    const ws = new WebSocket(url, { headers: options.headers });
    const events: WireEvent[] = [];
    ws.on('message', (data) => {
      // Messages already in flight when we close still arrive; a client that stopped reading ignores them.
      if (options.stopAfter && events.length >= options.stopAfter) return;
      events.push(JSON.parse(String(data)));
      options.onEvent?.(events[events.length - 1]);
      if (options.stopAfter && events.length >= options.stopAfter) ws.close();
    });
    ws.on('close', (code) => resolve({ events, code }));
    ws.on('error', reject);
  });
}
