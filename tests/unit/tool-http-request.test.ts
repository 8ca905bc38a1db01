import { describe, expect, it } from 'vitest';
import { buildHttpRequest } from '../../services/tools/execute/http-request.js';
import type { Tool } from '../../services/tools/tool.js';

type Http = NonNullable<Tool['origin']['http']>;
const tool = (http: Partial<Http>): Tool => ({
  name: 'op',
  description: '',
  parameters: { type: 'object' },
  category: 'x',
  complexity: 'simple',
  examples: [],
  origin: { format: 'openapi', http: { method: 'post', path: '/items/{id}', locations: {}, server: 'https://api.example.com/v1/', ...http } },
});

describe('building the HTTP request of an OpenAPI tool call', () => {
  it('joins the base path and the template, encodes path values and keeps the base query', () => {
    const built = buildHttpRequest(tool({ method: 'get', locations: { id: 'path', q: 'query' } }), { id: 'a b/c', q: ['x', 1, true] }, 'https://api.example.com/v2?key=k');
    expect(built).toMatchObject({ ok: true, request: { method: 'GET' } });
    expect(built.ok && 'body' in built.request).toBe(false);
    expect(built.ok && built.request.url.href).toBe('https://api.example.com/v2/items/a%20b%2Fc?key=k&q=x&q=1&q=true');
  });

  it('sends body properties as one JSON object, or the body_argument as the whole body', () => {
    const props = buildHttpRequest(tool({ locations: { id: 'path', name: 'body', tags: 'body', 'X-Trace': 'header' } }), { id: 1, name: 'n', tags: ['a'], 'X-Trace': 't\r\nInjected: 1' }, undefined);
    expect(props).toMatchObject({ ok: true, request: { body: '{"name":"n","tags":["a"]}', headers: { 'content-type': 'application/json', 'x-trace': 't Injected: 1' } } });
    expect(props.ok && props.request.url.href).toBe('https://api.example.com/v1/items/1');
    const whole = buildHttpRequest(tool({ locations: { id: 'path', body: 'body' }, body_argument: 'body' }), { id: 1, body: [1, 2] }, undefined);
    expect(whole).toMatchObject({ ok: true, request: { body: '[1,2]' } });
    const form = buildHttpRequest(tool({ locations: { id: 'path', a: 'body', b: 'body' }, body_content_type: 'application/x-www-form-urlencoded' }), { id: 1, a: 'x y', b: 2 }, undefined);
    expect(form).toMatchObject({ ok: true, request: { body: 'a=x+y&b=2', headers: { 'content-type': 'application/x-www-form-urlencoded' } } });
  });

  it('refuses what it cannot place or send, naming the tool', () => {
    const cases: [Tool, Record<string, unknown>, string | undefined, RegExp][] = [
      [tool({ locations: { id: 'path' }, server: undefined }), { id: 1 }, undefined, /no base URL/],
      [tool({ locations: { id: 'path' }, server: 'https://{region}.example.com' }), { id: 1 }, undefined, /unfilled server variables/],
      [tool({ locations: { id: 'path' }, server: '/v1' }), { id: 1 }, undefined, /is not absolute/],
      [tool({ locations: { id: 'path' } }), {}, undefined, /missing path parameter id/],
      [tool({ locations: { id: 'path' } }), { id: '..' }, undefined, /may not be "\." or "\.\."/],
      [tool({ locations: { id: 'path', Host: 'header' } }), { id: 1, Host: 'evil' }, undefined, /Host may not be sent as a header/],
      [tool({ locations: { id: 'path', f: 'body' }, body_content_type: 'multipart/form-data' }), { id: 1, f: 'x' }, undefined, /multipart\/form-data are not supported/],
      [tool({ method: 'trace', locations: {} }), {}, undefined, /unsupported HTTP method/],
      [tool({ locations: { id: 'path' } }), { id: 1, other: 2 }, undefined, /argument other is not a parameter/],
    ];
    for (const [t, args, base, reason] of cases) expect(buildHttpRequest(t, args, base)).toEqual({ ok: false, reason: expect.stringMatching(reason) });
  });
});
