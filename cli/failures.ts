import type { QuarryClient } from './client.js';

/** Failed tasks by category, counted from the run's event stream while the CLI follows it. */
export interface FailureWatch {
  counts: Map<string, number>;
  /** Waits (at most `ms`) for the stream to end after the terminal event, then stops reading. */
  finish(ms: number): Promise<void>;
}

const RECONNECT_MS = 1000;

/**
 * The run view counts failed tasks but not why they failed; `record.failed` events carry the category.
 * A dropped stream is resumed with Last-Event-ID, so no failure is counted twice or missed.
 */
export function watchFailures(client: QuarryClient, id: string): FailureWatch {
  const counts = new Map<string, number>();
  const abort = new AbortController();
  let lastId: number | undefined;
  const read = async () => {
    while (!abort.signal.aborted) {
      try {
        const { data } = await client.GET('/v1/runs/{id}/events', {
          params: { path: { id }, ...(lastId === undefined ? {} : { header: { 'last-event-id': lastId } }) },
          parseAs: 'stream',
          signal: abort.signal,
        });
        if (!data) return;
        if (await consume(data, (frame) => onFrame(frame))) return;
      } catch {
        // a cut connection: resume below with Last-Event-ID
      }
      if (!abort.signal.aborted) await new Promise((resolve) => setTimeout(resolve, RECONNECT_MS));
    }
  };
  const onFrame = (frame: { id?: number; event?: string; data?: string }) => {
    if (frame.id !== undefined) lastId = frame.id;
    if (frame.event !== 'record.failed' || !frame.data) return false;
    const category = categoryOf(frame.data);
    counts.set(category, (counts.get(category) ?? 0) + 1);
    return false;
  };
  const done = read();
  return {
    counts,
    async finish(ms) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([done, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
      clearTimeout(timer);
      abort.abort();
    },
  };
}

/** Reads SSE frames until the stream ends; true when it ended after a terminal event. */
async function consume(stream: ReadableStream<Uint8Array>, onFrame: (f: { id?: number; event?: string; data?: string }) => void): Promise<boolean> {
  const decoder = new TextDecoder();
  const reader = stream.getReader();
  let buffer = '';
  let terminal = false;
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
    buffer += decoder.decode(chunk.value, { stream: true });
    for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
      const frame: { id?: number; event?: string; data?: string } = {};
      for (const line of buffer.slice(0, end).split('\n')) {
        const colon = line.indexOf(':');
        const field = line.slice(0, colon);
        const value = line.slice(colon + 1).trimStart();
        if (field === 'id') frame.id = Number(value);
        else if (field === 'event') frame.event = value;
        else if (field === 'data') frame.data = (frame.data === undefined ? '' : `${frame.data}\n`) + value;
      }
      buffer = buffer.slice(end + 2);
      onFrame(frame);
      if (frame.event === 'run.succeeded' || frame.event === 'run.failed' || frame.event === 'run.canceled') terminal = true;
    }
  }
  return terminal;
}

function categoryOf(data: string): string {
  try {
    // The frame is the wire event; the failure is its `data`.
    const parsed: unknown = JSON.parse(data);
    const inner = typeof parsed === 'object' && parsed !== null && 'data' in parsed ? parsed.data : undefined;
    if (typeof inner === 'object' && inner !== null && 'category' in inner && typeof inner.category === 'string') return inner.category;
  } catch {
    // an event we cannot read still counts as a failure
  }
  return 'unknown';
}
