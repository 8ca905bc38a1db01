import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A tiny real shop API on loopback, with its OpenAPI 3.0 document, for `http` tool execution.
 * Its operations chain: searchProducts → getProduct(productId) → createOrder(product_id) →
 * getOrder(order_id). createOrder takes a path, a query, a header and a JSON body parameter, and
 * answers with each of them, so a test sees where each argument arrived. Outside the document,
 * under the same `/v1`, knobs for the safety tests: `/v1/redirect?to=URL&status=302`, `/v1/hang`
 * (never answers), `/v1/fail` (500), `/v1/big?bytes=N[&declared=1]`, `/v1/echo/…` (the request as
 * received). Every request is recorded in `requests`.
 */
export interface HttpToolApi {
  /** `http://127.0.0.1:PORT` (the API itself is under `/v1`, its document at `/openapi.json`). */
  url: string;
  /** `url` + `/v1`: the document's server. */
  baseUrl: string;
  openapi: Record<string, unknown>;
  requests: { method: string; path: string; headers: IncomingMessage['headers']; body: string }[];
  close(): Promise<void>;
}

const PRODUCTS = [
  { id: 'p-100', name: 'Trail running shoes', price: 89.5, stock: 12, tags: ['shoes', 'running'] },
  { id: 'p-101', name: 'Running socks (3 pairs)', price: 14, stock: 40, tags: ['socks', 'running'] },
  { id: 'p-102', name: 'Rain jacket', price: 120, stock: 0, tags: ['jackets'] },
  { id: 'p-103', name: 'Headlamp', price: 35, stock: 5, tags: ['lights', 'running'] },
];

const errorResponse = (description: string) => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } });
const json = (ref: string, description = 'OK') => ({ description, content: { 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } } });

/** The API's OpenAPI 3.0 document, its server at `baseUrl`. */
export function httpToolApiOpenApi(baseUrl: string): Record<string, unknown> {
  return {
    openapi: '3.0.3',
    info: { title: 'Trail shop', version: '1.0.0' },
    servers: [{ url: baseUrl }],
    paths: {
      '/products': {
        get: {
          operationId: 'searchProducts',
          summary: 'Search the catalogue by words in the product name',
          tags: ['catalogue'],
          parameters: [
            { name: 'q', in: 'query', required: true, schema: { type: 'string', minLength: 1 }, description: 'Words to look for' },
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 50, default: 10 } },
            { name: 'in_stock', in: 'query', schema: { type: 'boolean' }, description: 'Only products in stock' },
          ],
          responses: { '200': json('ProductList') },
        },
      },
      '/products/{productId}': {
        get: {
          operationId: 'getProduct',
          summary: 'One product with its price and stock',
          tags: ['catalogue'],
          parameters: [{ $ref: '#/components/parameters/ProductId' }],
          responses: { '200': json('Product'), '404': errorResponse('No such product') },
        },
      },
      '/stores/{storeId}/orders': {
        post: {
          operationId: 'createOrder',
          summary: 'Order a product from a store',
          tags: ['orders'],
          parameters: [
            { name: 'storeId', in: 'path', required: true, schema: { type: 'string', pattern: '^s-[0-9]+$' } },
            { name: 'currency', in: 'query', schema: { type: 'string', enum: ['EUR', 'USD'], default: 'EUR' } },
            { $ref: '#/components/parameters/CustomerId' },
          ],
          requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/OrderRequest' } } } },
          responses: { '201': json('Order', 'Created'), '404': errorResponse('No such product'), '409': errorResponse('Not enough stock') },
        },
      },
      '/quotes': {
        post: {
          operationId: 'quoteCart',
          summary: 'Price a list of products and quantities before ordering',
          tags: ['orders'],
          requestBody: { required: true, content: { 'application/json': { schema: { type: 'array', minItems: 1, items: { $ref: '#/components/schemas/OrderLine' } } } } },
          responses: { '200': json('Quote'), '404': errorResponse('No such product') },
        },
      },
      '/orders/{orderId}': {
        get: {
          operationId: 'getOrder',
          summary: 'An order by id',
          tags: ['orders'],
          parameters: [{ name: 'orderId', in: 'path', required: true, schema: { type: 'string' } }],
          responses: { '200': json('Order'), '404': errorResponse('No such order') },
        },
      },
    },
    components: {
      parameters: {
        ProductId: { name: 'productId', in: 'path', required: true, schema: { type: 'string', pattern: '^p-[0-9]+$' } },
        CustomerId: { name: 'X-Customer-Id', in: 'header', required: true, schema: { type: 'string' }, description: 'Who orders' },
      },
      schemas: {
        Product: {
          type: 'object',
          required: ['id', 'name', 'price', 'stock'],
          properties: { id: { type: 'string' }, name: { type: 'string' }, price: { type: 'number' }, stock: { type: 'integer' }, tags: { type: 'array', items: { type: 'string' } } },
        },
        ProductList: { type: 'object', required: ['items', 'total'], properties: { items: { type: 'array', items: { $ref: '#/components/schemas/Product' } }, total: { type: 'integer' } } },
        OrderRequest: {
          type: 'object',
          required: ['product_id', 'quantity'],
          properties: { product_id: { type: 'string' }, quantity: { type: 'integer', minimum: 1, maximum: 10 }, note: { type: 'string', maxLength: 200 } },
        },
        Order: {
          type: 'object',
          required: ['order_id', 'store_id', 'product_id', 'quantity', 'total', 'currency', 'customer_id', 'status'],
          properties: {
            order_id: { type: 'string' }, store_id: { type: 'string' }, product_id: { type: 'string' }, quantity: { type: 'integer' },
            total: { type: 'number' }, currency: { type: 'string', enum: ['EUR', 'USD'] }, customer_id: { type: 'string' }, note: { type: 'string' },
            status: { type: 'string', enum: ['placed', 'shipped'] },
          },
        },
        OrderLine: { type: 'object', required: ['product_id', 'quantity'], properties: { product_id: { type: 'string' }, quantity: { type: 'integer', minimum: 1 } } },
        Quote: { type: 'object', required: ['total', 'lines'], properties: { total: { type: 'number' }, lines: { type: 'integer' } } },
        Error: { type: 'object', required: ['error'], properties: { error: { type: 'string' } } },
      },
    },
  };
}

type Orders = Map<string, Record<string, unknown>>;

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
}

function route(req: IncomingMessage, res: ServerResponse, url: URL, body: string, orders: Orders, openapi: unknown): void {
  const path = url.pathname;
  const q = url.searchParams;
  if (req.method === 'GET' && path === '/openapi.json') return send(res, 200, openapi);
  if (path === '/v1/hang') return; // never answers; close() cuts it
  if (path === '/v1/fail') return send(res, 500, { error: 'the shop is down' });
  if (path === '/v1/redirect') return void res.writeHead(Number(q.get('status') ?? 302), { location: q.get('to') ?? '/' }).end();
  if (path === '/v1/big') {
    const bytes = Number(q.get('bytes') ?? 0);
    res.writeHead(200, { 'content-type': 'text/plain', ...(q.get('declared') ? { 'content-length': String(bytes) } : {}) });
    for (let sent = 0; sent < bytes; sent += 65_536) res.write('x'.repeat(Math.min(65_536, bytes - sent)));
    return void res.end();
  }
  if (path.startsWith('/v1/echo')) return send(res, 200, { method: req.method, path, query: Object.fromEntries(q), headers: req.headers, body });
  if (req.method === 'GET' && path === '/v1/products') {
    const words = (q.get('q') ?? '').toLowerCase().split(/\s+/).filter(Boolean);
    if (words.length === 0) return send(res, 400, { error: 'q is required' });
    const found = PRODUCTS.filter((p) => words.some((w) => p.name.toLowerCase().includes(w)) && (q.get('in_stock') !== 'true' || p.stock > 0));
    return send(res, 200, { items: found.slice(0, Number(q.get('limit') ?? 10)), total: found.length });
  }
  const product = /^\/v1\/products\/([^/]+)$/.exec(path);
  if (req.method === 'GET' && product) {
    const found = PRODUCTS.find((p) => p.id === decodeURIComponent(product[1]));
    return found ? send(res, 200, found) : send(res, 404, { error: `no product ${decodeURIComponent(product[1])}` });
  }
  const store = /^\/v1\/stores\/([^/]+)\/orders$/.exec(path);
  if (req.method === 'POST' && store) return createOrder(req, res, decodeURIComponent(store[1]), q.get('currency') ?? 'EUR', body, orders);
  if (req.method === 'POST' && path === '/v1/quotes') return quote(res, body);
  const order = /^\/v1\/orders\/([^/]+)$/.exec(path);
  if (req.method === 'GET' && order) {
    const found = orders.get(decodeURIComponent(order[1]));
    return found ? send(res, 200, found) : send(res, 404, { error: `no order ${order[1]}` });
  }
  send(res, 404, { error: `no route ${req.method} ${path}` });
}

function createOrder(req: IncomingMessage, res: ServerResponse, storeId: string, currency: string, raw: string, orders: Orders): void {
  const customer = req.headers['x-customer-id'];
  if (typeof customer !== 'string') return send(res, 400, { error: 'X-Customer-Id header is required' });
  if (!/json/.test(req.headers['content-type'] ?? '')) return send(res, 415, { error: 'send JSON' });
  let input: unknown;
  try {
    input = JSON.parse(raw);
  } catch {
    return send(res, 400, { error: 'body is not JSON' });
  }
  const productId = typeof input === 'object' && input !== null && 'product_id' in input ? input.product_id : undefined;
  const quantity = typeof input === 'object' && input !== null && 'quantity' in input ? input.quantity : undefined;
  const note = typeof input === 'object' && input !== null && 'note' in input ? input.note : undefined;
  if (typeof quantity !== 'number' || !Number.isInteger(quantity) || quantity < 1) return send(res, 400, { error: 'quantity must be a positive integer' });
  const product = PRODUCTS.find((p) => p.id === productId);
  if (!product) return send(res, 404, { error: `no product ${String(productId)}` });
  if (product.stock < quantity) return send(res, 409, { error: `only ${product.stock} of ${product.id} in stock` });
  const orderId = `o-${orders.size + 1}`;
  const created = { order_id: orderId, store_id: storeId, product_id: product.id, quantity, total: product.price * quantity, currency, customer_id: customer, status: 'placed', ...(typeof note === 'string' ? { note } : {}) };
  orders.set(orderId, created);
  send(res, 201, created, { location: `/v1/orders/${orderId}` });
}

function quote(res: ServerResponse, raw: string): void {
  let lines: unknown;
  try {
    lines = JSON.parse(raw);
  } catch {
    return send(res, 400, { error: 'body is not JSON' });
  }
  if (!Array.isArray(lines) || lines.length === 0) return send(res, 400, { error: 'send a non-empty array of { product_id, quantity }' });
  let total = 0;
  for (const line of lines) {
    const product = PRODUCTS.find((p) => typeof line === 'object' && line !== null && 'product_id' in line && p.id === line.product_id);
    const quantity = typeof line === 'object' && line !== null && 'quantity' in line && typeof line.quantity === 'number' ? line.quantity : 0;
    if (!product) return send(res, 404, { error: 'no such product' });
    total += product.price * quantity;
  }
  send(res, 200, { total, lines: lines.length });
}

/** Starts the API on 127.0.0.1 (a free port). */
export async function startHttpToolApi(): Promise<HttpToolApi> {
  const orders: Orders = new Map();
  const requests: HttpToolApi['requests'] = [];
  let openapi: Record<string, unknown> = {};
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const url = new URL(req.url ?? '/', 'http://localhost');
      requests.push({ method: req.method ?? 'GET', path: `${url.pathname}${url.search}`, headers: req.headers, body });
      route(req, res, url, body, orders, openapi);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  openapi = httpToolApiOpenApi(`${url}/v1`);
  return {
    url,
    baseUrl: `${url}/v1`,
    openapi,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
