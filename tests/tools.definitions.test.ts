import { readFileSync } from 'node:fs';
import { sql } from 'drizzle-orm';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rows } from '../db/client.js';
import { AppError } from '../src/errors.js';
import { parseDefinition } from '../services/tools/definitions/parse-definition.js';
import { resolveTools } from '../services/tools/tools.service.js';
import { DATABASES } from './support/databases.js';
import { startHarness, type Harness } from './support/harness.js';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/tools/${name}`, import.meta.url), 'utf8');
const HDF5 = JSON.parse(fixture('hdf5_tools.json'));
const OPENAI = JSON.parse(fixture('weather.openai-tools.json'));
const MCP = JSON.parse(fixture('files.mcp-tools.json'));
const OPENAPI_YAML = fixture('tasks.openapi.yaml');

describe.each(DATABASES)('tool definitions over HTTP (%s)', (db) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ db, env: { API_KEYS: 'key-a,key-b' } });
  });
  afterAll(() => h?.close());

  const as = (key: string) => ({
    post: (body: object) => request(h.url).post('/v1/tools').set('authorization', `Bearer ${key}`).send(body),
    get: (path: string) => request(h.url).get(path).set('authorization', `Bearer ${key}`),
  });
  const a = () => as('key-a');
  const b = () => as('key-b');
  const stored = async () => (await rows<{ n: number }>(h.quarry.database.db, sql`select count(*)::int as n from tool_sets`))[0].n;
  const ownerOf = async (id: string) => (await rows<{ owner: string }>(h.quarry.database.db, sql`select owner from tool_sets where id = ${id}`))[0].owner;

  it.each<[string, unknown, string, number, Record<string, number>]>([
    ['Generator JSON (hdf5_tools.json as it is)', HDF5, 'generator', 24, { simple: 14, medium: 8, complex: 2 }],
    ['an OpenAI tools array', OPENAI, 'openai', 3, { simple: 2, medium: 1, complex: 0 }],
    ['an MCP tools/list result', MCP, 'mcp', 4, { simple: 2, medium: 1, complex: 1 }],
    ['an OpenAPI 3.0 document as YAML text', OPENAPI_YAML, 'openapi', 7, { simple: 5, medium: 2, complex: 0 }],
  ])('POST /v1/tools stores %s, detected, and GET /v1/tools/{id} reads it back', async (_label, definition, format, total, byComplexity) => {
    const res = await a().post({ definition });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const set = res.body.tool_set;
    expect(set).toMatchObject({ id: expect.stringMatching(/^tl_[0-9a-f]{24}$/), format, summary: { total, by_complexity: byComplexity } });
    expect(res.headers.location).toBe(`/v1/tools/${set.id}`);
    expect(set.tools).toHaveLength(total);
    // Nothing of the normalised tools is lost on the way in and out, and schemas keep their key order (the order a model sees).
    const parsed = (await parseDefinition(definition, { field: 'definition' })).tools;
    const schemas = (tools: Array<{ parameters: unknown; returns?: unknown }>) => tools.map((t) => JSON.stringify([t.parameters, t.returns]));
    expect(set.tools).toEqual(parsed);
    expect(schemas(set.tools)).toEqual(schemas(parsed));
    const got = await a().get(`/v1/tools/${set.id}`).expect(200);
    expect(got.body.tool_set).toEqual(set);
    expect(schemas(got.body.tool_set.tools)).toEqual(schemas(parsed));
  });

  it('names a set after the definition, or as asked; keeps OpenAPI call details; takes an explicit format', async () => {
    const hdf5 = await a().post({ definition: HDF5 }).expect(201);
    expect(hdf5.body.tool_set.name).toBe('HDF5 MCP Tools');
    const tasks = await a().post({ definition: OPENAPI_YAML }).expect(201);
    expect(tasks.body.tool_set.name).toBe('Task tracker');
    const create = tasks.body.tool_set.tools.find((t: { name: string }) => t.name === 'createTask');
    expect(create.origin.http).toEqual({
      method: 'POST',
      path: '/projects/{projectId}/tasks',
      server: 'https://api.tasks.example.com/v2',
      locations: { projectId: 'path', 'Idempotency-Key': 'header', title: 'body', status: 'body', due: 'body', assignee_id: 'body' },
      body_content_type: 'application/json',
    });
    const named = await a().post({ name: 'weather', format: 'openai', definition: OPENAI }).expect(201);
    expect(named.body.tool_set).toMatchObject({ name: 'weather', format: 'openai' });
  });

  it("accepts every example of the contract's POST /v1/tools", async () => {
    const doc = (await request(h.url).get('/openapi.json').expect(200)).body;
    const examples: Record<string, { value: object }> = doc.paths['/v1/tools'].post.requestBody.content['application/json'].examples;
    expect(Object.keys(examples).sort()).toEqual(['generator', 'mcp', 'openai', 'openapi']);
    for (const [name, example] of Object.entries(examples)) {
      const res = await a().post(example.value);
      expect(res.status, `${name}: ${JSON.stringify(res.body)}`).toBe(201);
      expect(res.body.tool_set.format).toBe(name);
    }
  });

  it('lists sets newest first without their tools, a page at a time', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await a().post({ name: `page ${i}`, definition: OPENAI }).expect(201)).body.tool_set.id);
    const first = await a().get('/v1/tools?limit=2').expect(200);
    expect(first.body.tool_sets.map((s: { id: string }) => s.id)).toEqual([ids[2], ids[1]]);
    expect(first.body.tool_sets[0]).not.toHaveProperty('tools');
    expect(first.body.tool_sets[0].summary.total).toBe(3);
    const second = await a().get(`/v1/tools?limit=2&before=${first.body.next_before}`).expect(200);
    expect(second.body.tool_sets[0].id).toBe(ids[0]);
  });

  it("one key never sees another's sets", async () => {
    const set = (await a().post({ name: 'private', definition: MCP }).expect(201)).body.tool_set;
    const other = await b().get(`/v1/tools/${set.id}`);
    expect(other.status).toBe(404);
    expect(other.body.error.code).toBe('not_found');
    const unknown = await a().get('/v1/tools/tl_000000000000000000000000');
    expect(unknown.status).toBe(404);
    const list = await b().get('/v1/tools?limit=200').expect(200);
    expect(list.body.tool_sets.map((s: { id: string }) => s.id)).not.toContain(set.id);
    // Paging from another key's id reads nothing of it.
    const paged = await b().get(`/v1/tools?before=${set.id}`).expect(200);
    expect(paged.body.tool_sets).toEqual([]);
    await expect(resolveTools({ database: h.quarry.database }, 'someone-else', { tools_id: set.id })).rejects.toMatchObject({ code: 'validation_failed', details: [{ field: 'tools_id' }] });
  });

  it.each<[string, object, string, RegExp]>([
    ['duplicate names', { definition: [...OPENAI, OPENAI[0]] }, 'definition[3].function.name', /tool "get_current_weather": the name is used twice/],
    ['parameters that are not an object schema', { definition: { tools: [{ name: 'ls', inputSchema: { type: 'array' } }] } }, 'definition.tools[0].inputSchema', /tool "ls": parameters must be an object schema/],
    ['an unresolvable $ref', { definition: OPENAPI_YAML.replace("$ref: '#/components/schemas/NewTask'", "$ref: '#/components/schemas/Nope'") }, 'definition.paths["/projects/{projectId}/tasks"].post.requestBody.content.application/json.schema.$ref', /tool "createTask": \$ref "#\/components\/schemas\/Nope" cannot be resolved/],
    ['a remote $ref', { definition: OPENAPI_YAML.replace("$ref: '#/components/schemas/NewTask'", "$ref: 'http://127.0.0.1:9/new-task.json'") }, 'definition.paths["/projects/{projectId}/tasks"].post.requestBody.content.application/json.schema.$ref', /points outside the document/],
    ['a name providers reject', { definition: [{ type: 'function', function: { name: 'get.weather', parameters: { type: 'object' } } }] }, 'definition[0].function.name', /tool "get.weather": the name is not one providers accept/],
    ['an empty tool list', { definition: { tools: [] } }, 'definition', /no tools/],
    ['a format that does not fit', { format: 'mcp', definition: 'openapi: 3.1.0' }, 'definition', /MCP tools\/list result/],
  ])('%s → 400 naming the tool and the field, nothing stored', async (_label, body, field, message) => {
    const before = await stored();
    const res = await a().post(body);
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(res.body.error.code).toBe('validation_failed');
    expect(res.body.error.details[0].field).toBe(field);
    expect(res.body.error.message).toMatch(message);
    expect(await stored()).toBe(before);
  });

  it('a body without a definition, an unknown format or a malformed id is a 400', async () => {
    expect((await a().post({ name: 'x' })).status).toBe(400);
    expect((await a().post({ format: 'swagger', definition: OPENAI })).status).toBe(400);
    expect((await a().get('/v1/tools/not-an-id')).status).toBe(400);
  });

  it('resolveTools gives a job its tools from a stored set or an inline definition, exactly one', async () => {
    const deps = { database: h.quarry.database };
    const set = (await a().post({ definition: HDF5 }).expect(201)).body.tool_set;
    const owner = await ownerOf(set.id);
    const fromSet = await resolveTools(deps, owner, { tools_id: set.id });
    expect(fromSet.toolSetId).toBe(set.id);
    expect(fromSet.tools).toEqual(set.tools);
    const inline = await resolveTools(deps, owner, { tools: OPENAPI_YAML });
    expect(inline.toolSetId).toBeUndefined();
    expect(inline.tools.map((t) => t.name)).toContain('createTask');
    expect(inline.warnings).toContain('searchTasks: cookie parameter "session" is left out (tools are not given cookies)');
    const refused = async (input: Parameters<typeof resolveTools>[2]) => {
      const err = await resolveTools(deps, owner, input).catch((e: unknown) => e);
      if (!(err instanceof AppError)) throw new Error('expected a 400');
      return err.details[0].field;
    };
    expect(await refused({ tools_id: set.id, tools: OPENAI })).toBe('tools');
    expect(await refused({})).toBe('tools_id');
    expect(await refused({ tools_id: 'tl_000000000000000000000000' })).toBe('tools_id');
    expect(await refused({ tools: OPENAI, format: 'mcp' })).toBe('tools[0].name');
    expect(await refused({ tools: [{ type: 'function', function: { name: 'a b' } }] })).toBe('tools[0].function.name');
  });
});
