import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpExecutor } from '../services/tools/execute/http.executor.js';
import { createMcpExecutor } from '../services/tools/execute/mcp.executor.js';
import type { Tool } from '../services/tools/tool.js';
import { startHttpToolApi, startMcpToolServer, type HttpToolApi, type McpToolServer } from './support/tool-servers.js';

type Locations = NonNullable<Tool['origin']['http']>['locations'];

/** An OpenAPI operation as the definitions parser normalises it (built by hand: this file tests execution only). */
function op(name: string, method: string, path: string, locations: Locations, server?: string): Tool {
  return {
    name,
    description: name,
    parameters: { type: 'object', properties: Object.fromEntries(Object.keys(locations).map((k) => [k, { type: 'string' }])) },
    category: 'test',
    complexity: 'simple',
    examples: [],
    origin: { format: 'openapi', id: name, http: { method, path, locations, ...(server ? { server } : {}) } },
  };
}

const mcpTool = (name: string): Tool => ({ name, description: name, parameters: { type: 'object' }, category: 'notes', complexity: 'simple', examples: [], origin: { format: 'mcp' } });

const never = () => new AbortController().signal;

let api: HttpToolApi;
let other: HttpToolApi;
let mcp: McpToolServer;
beforeAll(async () => {
  [api, other, mcp] = await Promise.all([startHttpToolApi(), startHttpToolApi(), startMcpToolServer()]);
});
afterAll(async () => {
  await Promise.all([api.close(), other.close(), mcp.close()]);
});

const search = () => op('searchProducts', 'get', '/products', { q: 'query', limit: 'query', in_stock: 'query' }, api.baseUrl);
const getProduct = () => op('getProduct', 'get', '/products/{productId}', { productId: 'path' }, api.baseUrl);
const createOrder = () =>
  op('createOrder', 'post', '/stores/{storeId}/orders', { storeId: 'path', currency: 'query', 'X-Customer-Id': 'header', product_id: 'body', quantity: 'body', note: 'body' }, api.baseUrl);
const knob = (path: string, locations: Locations = {}) => op(`knob${path.replace(/\W/g, '_')}`, 'get', path, locations, api.baseUrl);

describe('http execution', () => {
  it('calls a real API: path, query, header and JSON body each arrive where the operation puts them, results chain', async () => {
    const sut = createHttpExecutor({ allow: [api.baseUrl], timeoutMs: 5000, headers: { Authorization: 'Bearer job-secret' } });
    const found = await sut.execute(search(), { q: 'running', in_stock: true, limit: 2 }, never());
    expect(found).toMatchObject({ ok: true, result: { total: 2, items: [{ id: 'p-100' }, { id: 'p-101' }] } });
    const product = await sut.execute(getProduct(), { productId: 'p-103' }, never());
    expect(product).toEqual({ ok: true, result: { id: 'p-103', name: 'Headlamp', price: 35, stock: 5, tags: ['lights', 'running'] } });

    const order = await sut.execute(createOrder(), { storeId: 's-7', currency: 'USD', 'X-Customer-Id': 'c-42', product_id: 'p-103', quantity: 2, note: 'gift & wrap?' }, never());
    expect(order).toEqual({
      ok: true,
      result: { order_id: 'o-1', store_id: 's-7', product_id: 'p-103', quantity: 2, total: 70, currency: 'USD', customer_id: 'c-42', status: 'placed', note: 'gift & wrap?' },
    });
    const sent = api.requests.at(-1);
    expect(sent).toMatchObject({ method: 'POST', path: '/v1/stores/s-7/orders?currency=USD' });
    expect(sent?.headers).toMatchObject({ 'x-customer-id': 'c-42', 'content-type': 'application/json', authorization: 'Bearer job-secret' });
    expect(JSON.parse(sent?.body ?? '')).toEqual({ product_id: 'p-103', quantity: 2, note: 'gift & wrap?' });

    const fetched = await sut.execute(op('getOrder', 'get', '/orders/{orderId}', { orderId: 'path' }, api.baseUrl), { orderId: 'o-1' }, never());
    expect(fetched).toMatchObject({ ok: true, result: { order_id: 'o-1', total: 70 } });
    await sut.close();
  });

  it('encodes path values so they stay in their segment, refuses one a decoding server would read out of the base, and repeats array queries', async () => {
    const sut = createHttpExecutor({ allow: [api.baseUrl], timeoutMs: 5000 });
    const echo = op('echo', 'get', '/echo/{id}', { id: 'path', tag: 'query' }, api.baseUrl);
    expect(await sut.execute(echo, { id: 'a/b?x=1#y', tag: ['a', 'b c'] }, never())).toMatchObject({ ok: true, result: { path: '/v1/echo/a%2Fb%3Fx%3D1%23y' } });
    expect(api.requests.at(-1)?.path).toBe('/v1/echo/a%2Fb%3Fx%3D1%23y?tag=a&tag=b+c');
    for (const id of ['..', '.', '%2e%2E']) expect(await sut.execute(echo, { id }, never())).toEqual({ ok: false, retryable: false, reason: 'tool echo: path parameter id may not be "." or ".."' });
    const before = api.requests.length;
    expect(await sut.execute(echo, { id: '../../../openapi.json' }, never())).toMatchObject({ ok: false, retryable: false, reason: expect.stringContaining('is not under a base URL') });
    expect(api.requests.length).toBe(before);
    await sut.close();
  });

  it('answers 4xx as not retryable, 5xx as retryable, and refuses calls it cannot build', async () => {
    const sut = createHttpExecutor({ allow: [api.baseUrl], timeoutMs: 5000 });
    expect(await sut.execute(getProduct(), { productId: 'p-999' }, never())).toEqual({ ok: false, retryable: false, reason: 'HTTP 404: {"error":"no product p-999"}' });
    expect(await sut.execute(createOrder(), { storeId: 's-1', 'X-Customer-Id': 'c', product_id: 'p-102', quantity: 1 }, never())).toMatchObject({ ok: false, retryable: false, reason: expect.stringMatching(/^HTTP 409/) });
    expect(await sut.execute(knob('/fail'), {}, never())).toEqual({ ok: false, retryable: true, reason: 'HTTP 500: {"error":"the shop is down"}' });
    expect(await sut.execute(getProduct(), {}, never())).toEqual({ ok: false, retryable: false, reason: 'tool getProduct: missing path parameter productId' });
    expect(await sut.execute(op('echo', 'get', '/echo', { 'X-Note': 'header' }, api.baseUrl), { 'X-Note': 'caf\u00e9 \u2615' }, never())).toMatchObject({ ok: false, retryable: false });
    expect(await sut.execute(getProduct(), { productId: 'p-1', extra: 1 }, never())).toMatchObject({ ok: false, retryable: false, reason: expect.stringContaining('argument extra') });
    expect(await sut.execute(mcpTool('list_notes'), {}, never())).toMatchObject({ ok: false, retryable: false, reason: expect.stringContaining('not an HTTP operation') });
    await sut.close();
  });

  it('times out a server that never answers (retryable), and gives up at once when the caller aborts', async () => {
    const sut = createHttpExecutor({ allow: [api.baseUrl], timeoutMs: 300 });
    const started = Date.now();
    expect(await sut.execute(knob('/hang'), {}, never())).toEqual({ ok: false, retryable: true, reason: 'timed out after 300 ms' });
    expect(Date.now() - started).toBeLessThan(3000);
    const cancel = new AbortController();
    setTimeout(() => cancel.abort(new Error('run cancelled')), 50);
    await expect(sut.execute(knob('/hang'), {}, cancel.signal)).rejects.toThrow('run cancelled');
    await sut.close();
  });

  it('refuses a response over the size cap, declared or streamed, and keeps one at the cap', async () => {
    const sut = createHttpExecutor({ allow: [api.baseUrl], timeoutMs: 5000 });
    const big = knob('/big', { bytes: 'query', declared: 'query' });
    const refusal = { ok: false, retryable: false, reason: 'response larger than 1048576 bytes (the cap for a tool result)' };
    expect(await sut.execute(big, { bytes: 2 * 1024 * 1024 }, never())).toEqual(refusal);
    expect(await sut.execute(big, { bytes: 2 * 1024 * 1024, declared: 1 }, never())).toEqual(refusal);
    const atCap = await sut.execute(big, { bytes: 1024 * 1024 }, never());
    expect(atCap.ok && typeof atCap.result === 'string' && atCap.result.length).toBe(1024 * 1024);
    await sut.close();
  });
});

describe('http execution safety', () => {
  it('refuses a base URL outside TOOLS_HTTP_ALLOW, or with no allow list at all, before sending anything', async () => {
    const before = api.requests.length;
    const cases: [string[], string][] = [
      [[`${api.url}/v10`], 'is not under a base URL listed in TOOLS_HTTP_ALLOW'],
      [[`${api.url}/v1/orders`], 'is not under a base URL listed in TOOLS_HTTP_ALLOW'],
      [['http://127.0.0.1:1/v1'], 'is not under a base URL listed in TOOLS_HTTP_ALLOW'],
      [[`http://localhost:${new URL(api.url).port}/v1`], 'is not under a base URL listed in TOOLS_HTTP_ALLOW'],
      [[], 'TOOLS_HTTP_ALLOW is empty'],
    ];
    for (const [allow, reason] of cases) {
      const sut = createHttpExecutor({ allow, timeoutMs: 5000 });
      expect(await sut.execute(getProduct(), { productId: 'p-100' }, never())).toEqual({ ok: false, retryable: false, reason: expect.stringContaining(reason) });
      await sut.close();
    }
    for (const baseUrl of ['http://169.254.169.254/latest', 'http://10.0.0.1/v1', `http://localhost:${new URL(api.url).port}/v1`, `http://[::1]:${new URL(api.url).port}/v1`]) {
      const job = createHttpExecutor({ allow: [api.baseUrl], timeoutMs: 5000, baseUrl });
      expect(await job.execute(getProduct(), { productId: 'p-100' }, never())).toEqual({ ok: false, retryable: false, reason: `${new URL(baseUrl).origin}${new URL(baseUrl).pathname}/products/p-100 is not under a base URL listed in TOOLS_HTTP_ALLOW` });
      await job.close();
    }
    expect(api.requests.length).toBe(before);
  });

  it('follows a redirect to a listed URL, refuses one to an unlisted URL (nothing reaches it), and stops after 3', async () => {
    const sut = createHttpExecutor({ allow: [api.baseUrl, `${other.url}/v1/echo`], timeoutMs: 5000 });
    const redirect = knob('/redirect', { to: 'query', status: 'query' });
    expect(await sut.execute(redirect, { to: '/v1/echo/after' }, never())).toMatchObject({ ok: true, result: { method: 'GET', path: '/v1/echo/after' } });
    expect(await sut.execute(redirect, { to: `${other.url}/v1/echo/there`, status: 307 }, never())).toMatchObject({ ok: true, result: { path: '/v1/echo/there' } });
    const otherSeen = other.requests.length;
    for (const to of [`${other.url}/v1/products/p-100`, `${other.url}/openapi.json`, 'http://169.254.169.254/latest/meta-data/', 'http://10.0.0.1/', '/openapi.json']) {
      expect(await sut.execute(redirect, { to }, never())).toMatchObject({ ok: false, retryable: false, reason: expect.stringMatching(/^redirect refused: .* is not under a base URL listed in TOOLS_HTTP_ALLOW$/) });
    }
    expect(other.requests.length).toBe(otherSeen);
    const hops = (n: number): string => (n === 0 ? '/v1/echo/end' : `/v1/redirect?to=${encodeURIComponent(hops(n - 1))}`);
    expect(await sut.execute(redirect, { to: hops(2) }, never())).toMatchObject({ ok: true, result: { path: '/v1/echo/end' } });
    expect(await sut.execute(redirect, { to: hops(3) }, never())).toEqual({ ok: false, retryable: false, reason: 'more than 3 redirects' });
    await sut.close();
  });

  it('refuses a job header that would pick another virtual host', async () => {
    const sut = createHttpExecutor({ allow: [api.baseUrl], timeoutMs: 5000, headers: { Host: 'internal.example' } });
    expect(await sut.execute(getProduct(), { productId: 'p-100' }, never())).toEqual({ ok: false, retryable: false, reason: "the job's header host may not be set" });
    await sut.close();
  });

  it('drops the job credentials when a redirect leaves the origin', async () => {
    const sut = createHttpExecutor({ allow: [api.baseUrl, `${other.url}/v1/echo`], timeoutMs: 5000, headers: { authorization: 'Bearer job-secret' } });
    const result = await sut.execute(knob('/redirect', { to: 'query' }), { to: `${other.url}/v1/echo/x` }, never());
    expect(result.ok && result.result).toMatchObject({ path: '/v1/echo/x' });
    expect(other.requests.at(-1)?.headers.authorization).toBeUndefined();
    await sut.close();
  });

  it('refuses a listed name that resolves to a private address not itself listed, checking the address it connects to', async () => {
    const port = new URL(api.url).port;
    const before = api.requests.length;
    const viaLocalhost = createHttpExecutor({ allow: [`http://localhost:${port}/v1`], timeoutMs: 5000, baseUrl: `http://localhost:${port}/v1` });
    expect(await viaLocalhost.execute(getProduct(), { productId: 'p-100' }, never())).toMatchObject({
      ok: false,
      retryable: false,
      reason: expect.stringMatching(/^localhost resolves to (127\.0\.0\.1|::1), which is a private, loopback, link-local or metadata address not listed in TOOLS_HTTP_ALLOW/),
    });
    await viaLocalhost.close();
    for (const address of ['169.254.169.254', '10.0.0.1', '::ffff:127.0.0.1', 'fd00::1']) {
      const rebinding = createHttpExecutor({
        allow: [`http://tools.example.test:${port}/v1`],
        timeoutMs: 5000,
        baseUrl: `http://tools.example.test:${port}/v1`,
        resolve: async () => [{ address: '93.184.215.14', family: 4 }, { address, family: address.includes(':') ? 6 : 4 }],
      });
      expect(await rebinding.execute(getProduct(), { productId: 'p-100' }, never())).toMatchObject({ ok: false, retryable: false, reason: expect.stringContaining(`tools.example.test resolves to ${address}`) });
      await rebinding.close();
    }
    expect(api.requests.length).toBe(before);
    // Listing the address itself admits it, and the connection goes to the address the check saw.
    const listed = createHttpExecutor({
      allow: [`http://tools.example.test:${port}/v1`, 'http://127.0.0.1'],
      timeoutMs: 5000,
      baseUrl: `http://tools.example.test:${port}/v1`,
      resolve: async () => [{ address: '127.0.0.1', family: 4 }],
    });
    expect(await listed.execute(getProduct(), { productId: 'p-100' }, never())).toMatchObject({ ok: true, result: { id: 'p-100' } });
    expect(api.requests.at(-1)?.headers.host).toBe(`tools.example.test:${port}`);
    await listed.close();
  });
});

describe('mcp execution', () => {
  it('calls tools on a real MCP server with structured results, chaining one result into the next call', async () => {
    const sut = createMcpExecutor({ url: mcp.url, allow: [mcp.url], timeoutMs: 5000 });
    const listed = await sut.listTools();
    expect(listed).toMatchObject({ tools: [{ name: 'list_notes' }, { name: 'get_note' }, { name: 'update_note' }, { name: 'add_note' }] });
    const work = await sut.execute(mcpTool('list_notes'), { tag: 'work' }, never());
    expect(work).toEqual({ ok: true, result: { notes: [{ id: 'n-2', title: 'Sprint goals', tags: ['work'] }] } });
    const id = work.ok && typeof work.result === 'object' && work.result !== null && 'notes' in work.result && Array.isArray(work.result.notes) ? work.result.notes[0].id : undefined;
    const note = await sut.execute(mcpTool('get_note'), { id }, never());
    expect(note).toEqual({ ok: true, result: { id: 'n-2', title: 'Sprint goals', body: 'ship tool-use data', tags: ['work'], version: 3 } });
    expect(await sut.execute(mcpTool('update_note'), { id, body: 'shipped', version: 3 }, never())).toEqual({ ok: true, result: { id: 'n-2', version: 4 } });
    expect(mcp.calls.map((c) => c.name)).toEqual(['list_notes', 'get_note', 'update_note']);
    await sut.close();
    // A fresh executor called from many tasks at once opens one session and serves them all.
    const shared = createMcpExecutor({ url: mcp.url, allow: [mcp.url], timeoutMs: 5000 });
    const ids = ['n-1', 'n-2', 'n-3', 'n-1', 'n-2', 'n-3'];
    const results = await Promise.all(ids.map((noteId) => shared.execute(mcpTool('get_note'), { id: noteId }, never())));
    expect(results.map((r) => r.ok && typeof r.result === 'object' && r.result !== null && 'id' in r.result && r.result.id)).toEqual(ids);
    await shared.close();
  });

  it('answers tool errors as not retryable; a timeout and a server it cannot reach as retryable', async () => {
    const sut = createMcpExecutor({ url: mcp.url, allow: [mcp.url], timeoutMs: 5000 });
    expect(await sut.execute(mcpTool('get_note'), { id: 'n-99' }, never())).toEqual({ ok: false, retryable: false, reason: 'tool error: no note n-99' });
    expect(await sut.execute(mcpTool('update_note'), { id: 'n-1', body: 'x', version: 7 }, never())).toMatchObject({ ok: false, retryable: false, reason: expect.stringContaining('at version 1') });
    expect(await sut.execute(mcpTool('get_note'), { id: 42 }, never())).toMatchObject({ ok: false, retryable: false, reason: expect.stringContaining('invalid arguments') });
    expect(await sut.execute(mcpTool('no_such_tool'), {}, never())).toMatchObject({ ok: false, retryable: false });
    await sut.close();
    mcp.hang.add('list_notes');
    const slow = createMcpExecutor({ url: mcp.url, allow: [mcp.url], timeoutMs: 300 });
    expect(await slow.execute(mcpTool('list_notes'), {}, never())).toEqual({ ok: false, retryable: true, reason: 'timed out after 300 ms' });
    mcp.hang.delete('list_notes');
    expect(await slow.execute(mcpTool('list_notes'), { tag: 'people' }, never())).toMatchObject({ ok: true, result: { notes: [{ id: 'n-3' }] } });
    await slow.close();
    const down = createMcpExecutor({ url: 'http://127.0.0.1:1/mcp', allow: ['http://127.0.0.1:1'], timeoutMs: 2000 });
    expect(await down.execute(mcpTool('list_notes'), {}, never())).toMatchObject({ ok: false, retryable: true });
    await down.close();
  });

  it('refuses an answer over the size cap', async () => {
    const sut = createMcpExecutor({ url: mcp.url, allow: [mcp.url], timeoutMs: 5000, maxResponseBytes: 20_000 });
    expect(await sut.execute(mcpTool('list_notes'), {}, never())).toMatchObject({ ok: true });
    mcp.knobs.padChars = 30_000;
    try {
      expect(await sut.execute(mcpTool('list_notes'), {}, never())).toEqual({ ok: false, retryable: false, reason: 'response larger than 20000 bytes (the cap for a tool result)' });
    } finally {
      mcp.knobs.padChars = 0;
    }
    expect(await sut.execute(mcpTool('get_note'), { id: 'n-1' }, never())).toMatchObject({ ok: true, result: { id: 'n-1' } });
    await sut.close();
  });

  it('refuses a server URL outside TOOLS_HTTP_ALLOW and a listed name resolving to an unlisted private address', async () => {
    const seen = mcp.calls.length;
    for (const allow of [[], [`${new URL(mcp.url).origin}/other`], ['http://127.0.0.1:1']]) {
      const sut = createMcpExecutor({ url: mcp.url, allow, timeoutMs: 5000 });
      expect(await sut.execute(mcpTool('list_notes'), {}, never())).toMatchObject({ ok: false, retryable: false, reason: expect.stringContaining('TOOLS_HTTP_ALLOW') });
      await sut.close();
    }
    const url = mcp.url.replace('127.0.0.1', 'notes.example.test');
    const named = createMcpExecutor({ url, allow: [url], timeoutMs: 5000, resolve: async () => [{ address: '127.0.0.1', family: 4 }] });
    expect(await named.execute(mcpTool('list_notes'), {}, never())).toMatchObject({ ok: false, retryable: false, reason: expect.stringContaining('notes.example.test resolves to 127.0.0.1') });
    await named.close();
    expect(mcp.calls.length).toBe(seen);
  });
});
