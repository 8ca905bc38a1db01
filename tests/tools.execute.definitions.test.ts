import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDefinition } from '../services/tools/definitions/parse-definition.js';
import { createHttpExecutor } from '../services/tools/execute/http.executor.js';
import { createMcpExecutor } from '../services/tools/execute/mcp.executor.js';
import type { ExecutionResult, Tool } from '../services/tools/tool.js';
import { startHttpToolApi, startMcpToolServer, type HttpToolApi, type McpToolServer } from './support/tool-servers.js';

/**
 * Execution against tools as the definitions parser really normalises them: the served OpenAPI
 * document and the MCP server's own tools/list result, so the two halves of the contract
 * (`origin.http.locations`, `body_argument`, tool names) are checked against each other.
 */
let api: HttpToolApi;
let mcp: McpToolServer;
beforeAll(async () => {
  [api, mcp] = await Promise.all([startHttpToolApi(), startMcpToolServer()]);
});
afterAll(async () => {
  await Promise.all([api.close(), mcp.close()]);
});

const signal = () => new AbortController().signal;
const byName = (tools: Tool[], name: string): Tool => {
  const tool = tools.find((t) => t.name === name);
  if (!tool) throw new Error(`no tool ${name} in ${tools.map((t) => t.name).join(', ')}`);
  return tool;
};
const resultOf = (r: ExecutionResult): Record<string, unknown> => {
  if (!r.ok || typeof r.result !== 'object' || r.result === null || Array.isArray(r.result)) throw new Error(`not an object result: ${JSON.stringify(r)}`);
  return Object.fromEntries(Object.entries(r.result));
};

describe('execution of parsed definitions', () => {
  it('runs the OpenAPI chain search → get → quote → order → get order from the served document', async () => {
    const text = await (await fetch(`${api.url}/openapi.json`)).text();
    const { format, tools } = await parseDefinition(text, { field: 'definition' });
    expect(format).toBe('openapi');
    expect(tools.map((t) => t.name).sort()).toEqual(['createOrder', 'getOrder', 'getProduct', 'quoteCart', 'searchProducts']);
    const sut = createHttpExecutor({ allow: [api.baseUrl], timeoutMs: 5000 });

    const found = resultOf(await sut.execute(byName(tools, 'searchProducts'), { q: 'socks' }, signal()));
    const items = Array.isArray(found.items) ? found.items : [];
    const productId = typeof items[0] === 'object' && items[0] !== null && 'id' in items[0] ? String(items[0].id) : '';
    expect(productId).toBe('p-101');
    expect(resultOf(await sut.execute(byName(tools, 'getProduct'), { productId }, signal()))).toMatchObject({ id: 'p-101', price: 14 });

    const quoteCart = byName(tools, 'quoteCart');
    expect(quoteCart.origin.http?.body_argument).toBeDefined();
    const lines = [{ product_id: productId, quantity: 2 }, { product_id: 'p-100', quantity: 1 }];
    expect(await sut.execute(quoteCart, { [quoteCart.origin.http?.body_argument ?? 'body']: lines }, signal())).toEqual({ ok: true, result: { total: 117.5, lines: 2 } });
    expect(JSON.parse(api.requests.at(-1)?.body ?? '')).toEqual(lines);

    const order = resultOf(await sut.execute(byName(tools, 'createOrder'), { storeId: 's-1', 'X-Customer-Id': 'c-9', product_id: productId, quantity: 3 }, signal()));
    expect(order).toMatchObject({ store_id: 's-1', customer_id: 'c-9', product_id: 'p-101', quantity: 3, total: 42, currency: 'EUR' });
    expect(resultOf(await sut.execute(byName(tools, 'getOrder'), { orderId: String(order.order_id) }, signal()))).toEqual(order);
    await sut.close();
  });

  it('runs the MCP chain list → get → update from the server’s own tools/list', async () => {
    const sut = createMcpExecutor({ url: mcp.url, allow: [mcp.url], timeoutMs: 5000 });
    const { format, tools } = await parseDefinition(await sut.listTools(), { field: 'definition' });
    expect(format).toBe('mcp');
    expect(byName(tools, 'get_note').returns).toMatchObject({ required: ['id', 'title', 'body', 'tags', 'version'] });

    const listed = resultOf(await sut.execute(byName(tools, 'list_notes'), { tag: 'people' }, signal()));
    const notes = Array.isArray(listed.notes) ? listed.notes : [];
    const id = typeof notes[0] === 'object' && notes[0] !== null && 'id' in notes[0] ? String(notes[0].id) : '';
    const note = resultOf(await sut.execute(byName(tools, 'get_note'), { id }, signal()));
    expect(note).toMatchObject({ id: 'n-3', title: 'Gift ideas', version: 1 });
    expect(await sut.execute(byName(tools, 'update_note'), { id, body: `${String(note.body)}, socks`, version: note.version }, signal())).toEqual({ ok: true, result: { id: 'n-3', version: 2 } });
    expect(resultOf(await sut.execute(byName(tools, 'get_note'), { id }, signal()))).toMatchObject({ body: 'headlamp, socks', version: 2 });
    await sut.close();
  });
});
