import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseDefinition } from '../../services/tools/definitions/parse-definition.js';
import type { JsonSchemaObject, Tool } from '../../services/tools/tool.js';
import { pathOf, validateResult, verifyFormat } from '../../services/tools/verify-format.js';

const HDF5 = JSON.parse(readFileSync(new URL('../fixtures/tools/hdf5_tools.json', import.meta.url), 'utf8'));

const tool = (name: string, parameters: JsonSchemaObject, returns?: JsonSchemaObject): Tool => ({
  name, description: name, parameters, ...(returns ? { returns } : {}), category: 'test', complexity: 'simple', examples: [], origin: { format: 'openai' },
});

const book = tool('book_meeting', {
  type: 'object',
  properties: {
    room: { type: 'string', enum: ['north', 'south'] },
    day: { type: 'string', format: 'date' },
    organiser: { type: 'string', format: 'email' },
    attendees: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] } },
  },
  required: ['room', 'day'],
});

let tools: Map<string, Tool>;
beforeAll(async () => {
  const parsed = await parseDefinition(HDF5, { field: 'definition' });
  tools = new Map([...parsed.tools, book].map((t) => [t.name, t]));
});

describe('verifyFormat', () => {
  it('passes calls to known tools whose arguments fit their schemas', () => {
    const verdict = verifyFormat(tools, [
      { tool: 'open_file', args: { path: 'data/run1.h5', mode: 'r' } },
      { tool: 'hdf5_batch_read', args: { paths: ['/a', '/b'] } },
      { tool: 'book_meeting', args: { room: 'north', day: '2026-12-01', organiser: 'ann@example.com', attendees: [{ name: 'Bo' }] } },
    ]);
    expect(verdict).toEqual({ passed: true, reason: '3 call(s) name known tools and validate against their parameters' });
  });

  it.each([
    ['an unknown tool', { tool: 'delete_everything', args: {} }, 'call 0 (delete_everything): no tool of that name is offered'],
    ['a missing required argument', { tool: 'get_shape', args: {} }, 'call 0 (get_shape): args.path: required but missing'],
    ['a wrong type', { tool: 'get_shape', args: { path: 42 } }, 'call 0 (get_shape): args.path: must be string'],
    ['a value outside the enum', { tool: 'book_meeting', args: { room: 'east', day: '2026-12-01' } }, 'call 0 (book_meeting): args.room: must be one of ["north","south"]'],
    ['a bad date', { tool: 'book_meeting', args: { room: 'north', day: 'tomorrow' } }, 'call 0 (book_meeting): args.day: must be a valid date'],
    ['a bad email', { tool: 'book_meeting', args: { room: 'north', day: '2026-12-01', organiser: 'ann' } }, 'call 0 (book_meeting): args.organiser: must be a valid email'],
    ['a fault deep inside', { tool: 'book_meeting', args: { room: 'north', day: '2026-12-01', attendees: [{ name: 'Bo' }, {}] } }, 'call 0 (book_meeting): args.attendees[1].name: required but missing'],
    ['an argument the tool does not have', { tool: 'get_shape', args: { path: '/x', dataset: '/x' } }, 'call 0 (get_shape): args.dataset: not a parameter of the tool'],
    ['arguments that are not an object', { tool: 'list_keys', args: ['x'] }, 'call 0 (list_keys): args must be a JSON object'],
  ])('refuses %s, naming the call, the tool and the path', (_what, call, reason) => {
    expect(verifyFormat(tools, [call])).toEqual({ passed: false, reason });
  });

  it('names the index of the failing call among several', () => {
    const verdict = verifyFormat(tools, [
      { tool: 'list_keys', args: {} },
      { tool: 'book_meeting', args: { room: 'south', day: '2026-12-01', attendees: [{ name: 'Al' }, { name: 7 }] } },
    ]);
    expect(verdict).toEqual({ passed: false, reason: 'call 1 (book_meeting): args.attendees[1].name: must be string' });
  });

  it('refuses an example without calls', () => {
    expect(verifyFormat(tools, [])).toEqual({ passed: false, reason: 'no tool calls' });
  });

  it('leaves extra arguments to a schema that speaks about them', () => {
    const open = tool('open_anything', { type: 'object', properties: { a: { type: 'string' } }, additionalProperties: true });
    const closedTyped = tool('typed_extras', { type: 'object', properties: {}, additionalProperties: { type: 'integer' } });
    const set = new Map([open, closedTyped].map((t) => [t.name, t]));
    expect(verifyFormat(set, [{ tool: 'open_anything', args: { a: 'x', b: 1 } }]).passed).toBe(true);
    expect(verifyFormat(set, [{ tool: 'typed_extras', args: { n: 'x' } }])).toEqual({ passed: false, reason: 'call 0 (typed_extras): args.n: must be integer' });
  });

  it('reads a 2020-12 schema and says when a schema cannot be compiled', () => {
    const modern = tool('modern', { $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'object', properties: { q: { type: 'string' } }, required: ['q'] });
    const broken = tool('broken', { type: 'object', properties: { q: { type: 'strin' } } });
    const set = new Map([modern, broken].map((t) => [t.name, t]));
    expect(verifyFormat(set, [{ tool: 'modern', args: { q: 'x' } }]).passed).toBe(true);
    expect(verifyFormat(set, [{ tool: 'modern', args: {} }]).reason).toBe('call 0 (modern): args.q: required but missing');
    const verdict = verifyFormat(set, [{ tool: 'broken', args: { q: 'x' } }]);
    expect(verdict.passed).toBe(false);
    expect(verdict.reason).toMatch(/^call 0 \(broken\): its parameters schema cannot be compiled: /);
  });

  it("reads OpenAPI's formats and nullable, and lets a format it does not know pass", () => {
    const api = tool('get_item', {
      type: 'object',
      properties: { id: { type: 'string', format: 'uuid' }, limit: { type: 'integer', format: 'int32' }, note: { type: 'string', nullable: true }, path: { type: 'string', format: 'hdf5-path' } },
    });
    const set = new Map([[api.name, api]]);
    expect(verifyFormat(set, [{ tool: 'get_item', args: { id: 'c0a8012e-7f3b-4d5e-9a1b-2c3d4e5f6a7b', limit: 10, note: null, path: '/g/d' } }]).passed).toBe(true);
    expect(verifyFormat(set, [{ tool: 'get_item', args: { id: 'nope' } }]).reason).toBe('call 0 (get_item): args.id: must be a valid uuid');
    expect(verifyFormat(set, [{ tool: 'get_item', args: { limit: 2 ** 40 } }]).reason).toBe('call 0 (get_item): args.limit: must be a valid int32');
  });

  it('does not change the arguments it checks (no defaults filled in)', () => {
    const args = { path: 'a.h5' };
    expect(verifyFormat(tools, [{ tool: 'open_file', args }]).passed).toBe(true);
    expect(args).toEqual({ path: 'a.h5' });
  });
});

describe('validateResult', () => {
  it("checks a result against the tool's returns schema", () => {
    const size = tools.get('get_size');
    if (!size) throw new Error('hdf5 has get_size');
    expect(validateResult(size, 1000).passed).toBe(true);
    expect(validateResult(size, '1000')).toEqual({ passed: false, reason: 'get_size: result: must be integer' });
    const shaped = tool('describe', { type: 'object', properties: {} }, { type: 'object', properties: { shape: { type: 'array', items: { type: 'integer' } } }, required: ['shape'] });
    expect(validateResult(shaped, { shape: [3, 4] }).passed).toBe(true);
    expect(validateResult(shaped, { shape: [3, 'x'] })).toEqual({ passed: false, reason: 'describe: result.shape[1]: must be integer' });
    expect(validateResult(shaped, {})).toEqual({ passed: false, reason: 'describe: result.shape: required but missing' });
  });

  it('accepts any result from a tool that declares no returns schema', () => {
    expect(validateResult(tool('free', { type: 'object', properties: {} }), { anything: true })).toEqual({ passed: true, reason: 'free declares no returns schema' });
  });
});

describe('pathOf', () => {
  it('turns a JSON pointer into a readable path', () => {
    expect(pathOf('args', '')).toBe('args');
    expect(pathOf('args', '/a/0/b')).toBe('args.a[0].b');
    expect(pathOf('args', '/odd key/x~1y')).toBe('args["odd key"]["x/y"]');
  });
});
