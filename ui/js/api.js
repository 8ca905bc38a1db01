const KEY = 'quarry.apiKey';

export const apiKey = {
  get: () => localStorage.getItem(KEY) ?? '',
  set: (value) => (value ? localStorage.setItem(KEY, value) : localStorage.removeItem(KEY)),
};

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message ?? `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

const headers = (extra = {}) => ({ accept: 'application/json', ...(apiKey.get() ? { authorization: `Bearer ${apiKey.get()}` } : {}), ...extra });

/** Calls the API with the stored key; a 401 asks for a key (the `quarry:unauthorized` event). */
export async function api(path, { method = 'GET', body, signal } = {}) {
  const res = await fetch(path, {
    method,
    signal,
    headers: headers(body === undefined ? {} : { 'content-type': 'application/json' }),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const type = res.headers.get('content-type') ?? '';
  const payload = type.includes('json') ? await res.json() : await res.text();
  if (res.status === 401) window.dispatchEvent(new CustomEvent('quarry:unauthorized'));
  if (!res.ok) throw new ApiError(res.status, payload);
  return payload;
}

const TERMINAL = new Set(['run.succeeded', 'run.failed', 'run.canceled']);

/**
 * Reads a run's Server-Sent Events with fetch (EventSource cannot send a key). Reconnects with
 * Last-Event-ID after a drop, so nothing is missed; stops after the terminal event or on abort.
 * `onEvents` gets each chunk's events together, so a replay of thousands renders once per chunk.
 */
export async function followEvents(runId, { after = 0, signal, onEvents, onState }) {
  let last = after;
  while (!signal.aborted) {
    try {
      onState?.('live');
      const res = await fetch(`/v1/runs/${runId}/events`, { signal, headers: headers({ accept: 'text/event-stream', 'last-event-id': String(last) }) });
      if (res.status === 401) window.dispatchEvent(new CustomEvent('quarry:unauthorized'));
      if (!res.ok) throw new ApiError(res.status, await res.json().catch(() => null));
      let ended = false;
      for await (const batch of sseBatches(res.body)) {
        const events = batch.filter((e) => e.seq > last);
        if (events.length === 0) continue;
        last = events[events.length - 1].seq;
        onEvents(events);
        if (events.some((e) => TERMINAL.has(e.type))) ended = true;
      }
      if (ended) return onState?.('ended');
    } catch (err) {
      if (signal.aborted) return;
      if (err instanceof ApiError && err.status < 500 && err.status !== 429) return onState?.('error', err);
    }
    onState?.('reconnecting');
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

/** Parses an event stream into batches of JSON events (one batch per network chunk). */
async function* sseBatches(stream) {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    const blocks = buffer.split(/\r?\n\r?\n/);
    buffer = blocks.pop() ?? '';
    const batch = [];
    for (const block of blocks) {
      const data = block.split(/\r?\n/).filter((l) => l.startsWith('data:')).map((l) => l.slice(5).replace(/^ /, '')).join('\n');
      if (!data) continue;
      try {
        batch.push(JSON.parse(data));
      } catch {
        // A keep-alive or a line we do not know: skipped.
      }
    }
    if (batch.length) yield batch;
  }
}
