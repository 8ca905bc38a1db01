import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { openSseStream, sseComment, sseEvent, sseRetry } from '../../src/events/sse.js';

/**
 * The event-stream parsing algorithm of the WHATWG HTML standard (§9.2.6), as an EventSource runs
 * it: lines end in CRLF, LF or CR; a blank line dispatches; `data` lines are joined with LF.
 */
function parse(stream: string) {
  const events: Array<{ id?: string; event: string; data: string }> = [];
  const comments: string[] = [];
  let data = '';
  let event = '';
  let id: string | undefined;
  let retry: number | undefined;
  for (const line of stream.split(/\r\n|\r|\n/)) {
    if (line === '') {
      if (data !== '') events.push({ id, event: event || 'message', data: data.endsWith('\n') ? data.slice(0, -1) : data });
      data = '';
      event = '';
      continue;
    }
    if (line.startsWith(':')) {
      comments.push(line.slice(1).replace(/^ /, ''));
      continue;
    }
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'data') data += `${value}\n`;
    else if (field === 'event') event = value;
    else if (field === 'id' && !value.includes('\0')) id = value;
    else if (field === 'retry' && /^\d+$/.test(value)) retry = Number(value);
  }
  return { events, comments, retry };
}

describe('SSE framing', () => {
  it('writes id, event and data lines and ends the frame with a blank line', () => {
    expect(sseEvent({ id: 7, event: 'record.created', data: '{"a":1}' })).toBe('id: 7\nevent: record.created\ndata: {"a":1}\n\n');
    expect(sseEvent({ data: 'x' })).toBe('data: x\n\n');
  });

  it.each([
    ['LF', 'line one\nline two', 'line one\nline two'],
    ['CRLF', 'line one\r\nline two', 'line one\nline two'],
    ['lone CR', 'line one\rline two', 'line one\nline two'],
    ['a trailing newline', 'last\n', 'last\n'],
    ['blank lines inside', 'a\n\n\nb', 'a\n\n\nb'],
    ['a leading space and colons', ' indented: yes', ' indented: yes'],
    ['a line that looks like a field', 'x\nid: 99\nevent: run.succeeded', 'x\nid: 99\nevent: run.succeeded'],
  ])('multi-line data with %s reaches the client as one event with its lines', (_label, data, received) => {
    const frame = sseEvent({ id: 3, event: 'progress', data });
    const parsed = parse(frame);
    expect(parsed.events).toEqual([{ id: '3', event: 'progress', data: received }]);
    // Every line of the frame is a field of this event; none can start a new one.
    expect(frame.slice(0, -2).split('\n').every((l) => /^(id|event|data): /.test(l))).toBe(true);
  });

  it('keeps a line break or NUL in an id or event type from forging a field or losing the id', () => {
    const frame = sseEvent({ id: '5\ndata: forged\n\nid: 6\0', event: 'a\r\nevent: b', data: 'real' });
    expect(parse(frame).events).toEqual([{ id: '5data: forgedid: 6', event: 'aevent: b', data: 'real' }]);
  });

  it('sends ids the client echoes back as Last-Event-ID, event after event', () => {
    const stream = [1, 2, 3].map((seq) => sseEvent({ id: seq, event: 'record.created', data: JSON.stringify({ seq }) })).join('');
    expect(parse(stream).events.map((e) => [e.id, JSON.parse(e.data).seq])).toEqual([['1', 1], ['2', 2], ['3', 3]]);
  });

  it('writes comments (one per line) that dispatch nothing, and the reconnect delay', () => {
    const parsed = parse(`${sseRetry(2000)}${sseComment('keep-alive')}${sseComment('two\nlines')}${sseEvent({ data: 'x' })}`);
    expect(parsed).toEqual({ events: [{ event: 'message', data: 'x' }], comments: ['keep-alive', 'two', 'lines'], retry: 2000 });
  });

  it('opens a stream on a real response: headers, retry, keep-alives while quiet, frames, and the end', async () => {
    let stream: ReturnType<typeof openSseStream> | undefined;
    const server = createServer((_req, res: ServerResponse) => {
      stream = openSseStream(res, { keepAliveMs: 10, retryMs: 1500 });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
      expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
      expect(res.headers.get('cache-control')).toBe('no-cache, no-transform');
      let text = '';
      let ended = false;
      const decoder = new TextDecoder();
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        text += decoder.decode(chunk, { stream: true });
        // Two keep-alives seen: the stream is quiet and alive; then an event, then the end.
        if (!ended && parse(text).comments.length >= 2) {
          ended = true;
          stream!.write(sseEvent({ id: 1, event: 'run.succeeded', data: '{}' }));
          stream!.end();
        }
      }
      const parsed = parse(text);
      expect(parsed.retry).toBe(1500);
      expect(parsed.comments.slice(0, 2)).toEqual(['keep-alive', 'keep-alive']);
      expect(parsed.events).toEqual([{ id: '1', event: 'run.succeeded', data: '{}' }]);
      // Nothing follows the end: the keep-alive timer stopped with it.
      expect(text.endsWith('data: {}\n\n')).toBe(true);
    } finally {
      server.close();
    }
  });
});
