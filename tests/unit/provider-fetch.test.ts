import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProviderFetch } from '../../src/llm/fetch.js';

// The provider fetch answers with an in-memory response instead of a WHATWG Response; these are
// the parts of Response the SDKs (and sdk-errors.ts) read, checked against a real HTTP server.
let server: Server;
let base: string;
let hits = 0;
let limited = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    hits++;
    if (req.url === '/empty') return res.writeHead(204).end();
    if (req.url?.startsWith('/limited') && limited++ === 0) {
      return res.writeHead(429, { 'Retry-After-Ms': '20', 'Content-Type': 'application/json' }).end('{"error":{"message":"slow down"}}');
    }
    res.setHeader('Set-Cookie', ['a=1', 'b=2']);
    res.writeHead(200, { 'Content-Type': 'application/json', 'X-Request-Id': 'req_1' });
    res.end(JSON.stringify({ id: 'c1', object: 'chat.completion', created: 0, model: 'm', choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: 'hé' } }] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('provider fetch', () => {
  const fetchy = createProviderFetch(2);

  it('answers a Response-shaped object: status, case-insensitive Headers, a body read once', async () => {
    const res = await fetchy(`${base}/ok`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(res.ok).toBe(true);
    expect(res.status).toBe(200);
    expect(res.headers).toBeInstanceOf(Headers);
    expect(res.headers.get('X-REQUEST-ID')).toBe('req_1');
    expect(res.headers.has('content-type')).toBe(true);
    expect(res.headers.get('absent')).toBeNull();
    expect(res.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    const names = [...res.headers.keys()];
    expect(names).toEqual([...names].sort());
    expect(Object.fromEntries(res.headers)).toMatchObject({ 'x-request-id': 'req_1', 'set-cookie': 'a=1, b=2' });
    expect(res.bodyUsed).toBe(false);
    const body = (await res.json()) as { choices: Array<{ message: { content: string } }> };
    expect(body.choices[0].message.content).toBe('hé');
    expect(res.bodyUsed).toBe(true);
    await expect(res.text()).rejects.toThrow(/already used/);
  });

  it('has no body for 204 and reads it as empty text', async () => {
    const res = await fetchy(`${base}/empty`);
    expect(res.status).toBe(204);
    expect(res.body).toBeNull();
    expect(await res.text()).toBe('');
  });

  it('lets the OpenAI SDK parse answers and honour retry headers through it', async () => {
    const client = new OpenAI({ baseURL: `${base}/limited`, apiKey: 'k', maxRetries: 2, fetch: fetchy });
    const before = hits;
    const { data, response, request_id } = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    expect(data.choices[0].message.content).toBe('hé');
    expect(request_id).toBe('req_1');
    expect(response.status).toBe(200);
    // One 429 answered with Retry-After-Ms, then the retry: two requests, one call.
    expect(hits - before).toBe(2);
  });
});
