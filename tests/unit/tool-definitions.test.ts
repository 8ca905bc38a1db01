import { readFileSync } from 'node:fs';
import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import { parseDefinition } from '../../services/tools/definitions/parse-definition.js';
import { LIMITS } from '../../services/limits.js';
import { AppError } from '../../src/errors.js';
import { Tool, type Tool as ToolT } from '../../services/tools/tool.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/tools/${name}`, import.meta.url), 'utf8');
const HDF5 = JSON.parse(fixture('hdf5_tools.json'));
const parse = (definition: unknown, format?: 'generator' | 'openai' | 'mcp' | 'openapi') => parseDefinition(definition, { field: 'definition', format });
const byName = (tools: ToolT[], name: string) => {
  const tool = tools.find((t) => t.name === name);
  if (!tool) throw new Error(`no tool ${name}`);
  return tool;
};

/** The 400 a definition earns: its code, the field its details name, and its message. */
async function refusal(definition: unknown, format?: 'generator' | 'openai' | 'mcp' | 'openapi') {
  const err = await parse(definition, format).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof AppError)) throw new Error(`expected an AppError, got ${String(err)}`);
  expect(err.status).toBe(400);
  return { field: err.details[0]?.field, message: err.message, tool: err.details[0]?.tool };
}

describe("Generator's tool JSON: hdf5_tools.json as it is", () => {
  it('gives 24 tools with their categories, complexities, parameters and required ones', async () => {
    const { format, tools, summary } = await parse(HDF5);
    expect(format).toBe('generator');
    expect(tools).toHaveLength(24);
    for (const tool of tools) expect(Value.Check(Tool, tool), tool.name).toBe(true);
    expect(summary).toMatchObject({
      total: 24,
      by_category: { file_operations: 4, navigation: 3, dataset_operations: 6, attribute_operations: 2, performance: 4, discovery: 5 },
      by_complexity: { simple: 14, medium: 8, complex: 2 },
    });
    // Each tool keeps its own category and complexity word, and its tool_id as the origin id.
    for (const raw of HDF5.tools) {
      const tool = byName(tools, raw.name);
      expect(tool).toMatchObject({ category: raw.category, complexity: raw.complexity, description: raw.description, examples: raw.examples, origin: { format: 'generator', id: raw.tool_id } });
      expect(Object.keys(tool.parameters.properties as object)).toEqual(raw.parameters.map((p: { name: string }) => p.name));
      const required = raw.parameters.filter((p: { required: boolean }) => p.required).map((p: { name: string }) => p.name);
      expect(tool.parameters.required ?? []).toEqual(required);
    }
    expect(byName(tools, 'open_file')).toMatchObject({
      parameters: { type: 'object', properties: { path: { type: 'string' }, mode: { type: 'string', default: 'r' } }, required: ['path'] },
      returns: { type: 'string', description: 'Success message with filename and mode' },
    });
    expect(byName(tools, 'close_file').parameters).toEqual({ type: 'object', properties: {} });
  });

  it('maps its type words to JSON Schema, keeps enums, and reads "any" as unconstrained', async () => {
    const { tools } = await parse(HDF5);
    const types = new Set(tools.flatMap((t) => Object.values(t.parameters.properties as Record<string, { type?: string }>).map((p) => p.type)));
    expect([...types].sort()).toEqual(['array', 'integer', 'number', 'string']);
    const any = tools.find((t) => t.returns && !('type' in t.returns));
    expect(any?.returns?.description).toBeTypeOf('string');
    const withEnum = tools.find((t) => Object.values(t.parameters.properties as Record<string, { enum?: unknown }>).some((p) => p.enum));
    expect(withEnum).toBeDefined();
    const { tools: more } = await parse({ name: 'x', tools: [{ name: 'f', parameters: [{ name: 'p', type: 'path', required: true }, { name: 'q', type: 'any' }, { name: 'b', type: 'bool' }] }] });
    expect(more[0].parameters).toEqual({ type: 'object', properties: { p: { type: 'string' }, q: {}, b: { type: 'boolean' } }, required: ['p'] });
  });

  it('maps other complexity words and estimates a missing one from the parameters', async () => {
    const param = (name: string) => ({ name, type: 'string', description: name });
    const { tools, summary } = await parse({
      name: 'x',
      tools: [
        { name: 'a', description: 'a', complexity: 'Advanced', parameters: [param('p')] },
        { name: 'b', description: 'b', parameters: [param('p')] },
        { name: 'c', description: 'c', parameters: ['p', 'q', 'r', 's', 't', 'u', 'v'].map(param) },
        { name: 'd', description: 'd', complexity: 'weird', parameters: ['p', 'q', 'r'].map(param) },
      ],
    });
    expect(tools.map((t) => t.complexity)).toEqual(['complex', 'simple', 'complex', 'medium']);
    expect(tools.map((t) => t.category)).toEqual(['general', 'general', 'general', 'general']);
    expect(summary.warnings).toContain('d: complexity "weird" is not simple, medium or complex; estimated from its parameters');
    expect(summary.warnings).toContain('a: no returns schema (simulated results cannot be checked against one)');
  });
});

describe('OpenAI tools arrays', () => {
  it('reads the fixture: function tools, strict ones, and a function without parameters', async () => {
    const { format, tools, summary } = await parse(JSON.parse(fixture('weather.openai-tools.json')));
    expect(format).toBe('openai');
    expect(tools.map((t) => t.name)).toEqual(['get_current_weather', 'get_forecast', 'list_alerts']);
    expect(byName(tools, 'get_forecast').parameters).toMatchObject({ additionalProperties: false, required: ['location', 'days', 'unit'] });
    expect(byName(tools, 'list_alerts').parameters).toEqual({ type: 'object', properties: {} });
    expect(tools.every((t) => t.category === 'general' && t.origin.format === 'openai')).toBe(true);
    expect(summary.by_complexity).toEqual({ simple: 2, medium: 1, complex: 0 });
  });

  it('accepts the bare function form', async () => {
    const { format, tools } = await parse([{ name: 'lookup', description: 'Find a word', parameters: { type: 'object', properties: { word: { type: 'string' } } } }]);
    expect(format).toBe('openai');
    expect(tools[0]).toMatchObject({ name: 'lookup', description: 'Find a word', parameters: { properties: { word: { type: 'string' } } } });
  });
});

describe('MCP tools/list results', () => {
  it('reads inputSchema, outputSchema as returns, annotations, and a title for a missing description', async () => {
    const { format, tools, summary } = await parse(JSON.parse(fixture('files.mcp-tools.json')));
    expect(format).toBe('mcp');
    expect(tools).toHaveLength(4);
    expect(byName(tools, 'read_text_file')).toMatchObject({
      parameters: { type: 'object', required: ['path'] },
      returns: { type: 'object', required: ['content'] },
      origin: { format: 'mcp', annotations: { readOnlyHint: true } },
    });
    expect(byName(tools, 'search_files')).toMatchObject({ description: 'Search files', complexity: 'complex' });
    expect(summary.warnings).toContain('write_file: no returns schema (simulated results cannot be checked against one)');
  });

  it('accepts a bare list of MCP tools', async () => {
    const { format, tools } = await parse([{ name: 'ping', description: 'Ping', inputSchema: { type: 'object' } }]);
    expect(format).toBe('mcp');
    expect(tools[0].parameters).toEqual({ type: 'object', properties: {} });
  });
});

describe('OpenAPI documents', () => {
  it('reads the YAML fixture: $refs resolved, path+query+header+body merged with their locations', async () => {
    const { format, tools, summary } = await parse(fixture('tasks.openapi.yaml'));
    expect(format).toBe('openapi');
    expect(tools.map((t) => t.name)).toEqual(['listTasks', 'createTask', 'getTask', 'delete_projects_projectId_tasks_taskId', 'uploadAttachment', 'addNote', 'searchTasks']);
    const list = byName(tools, 'listTasks');
    expect(list.parameters).toEqual({
      type: 'object',
      properties: {
        projectId: { type: 'string', pattern: '^[a-z0-9-]+$', description: "The project's slug" },
        limit: { type: 'integer', minimum: 1, maximum: 100, default: 20 },
        status: { type: 'string', enum: ['open', 'in_progress', 'done'], description: 'Only tasks with this status' },
        'X-Request-Id': { type: 'string' },
        // 3.0's boolean exclusiveMinimum (draft 4) becomes JSON Schema's numeric one.
        min_estimate: { type: 'number', exclusiveMinimum: 0, description: 'Only tasks estimated above this many hours' },
      },
      required: ['projectId'],
    });
    expect(list.origin).toEqual({
      format: 'openapi',
      id: 'listTasks',
      http: { method: 'GET', path: '/projects/{projectId}/tasks', server: 'https://api.tasks.example.com/v2', locations: { projectId: 'path', limit: 'query', status: 'query', 'X-Request-Id': 'header', min_estimate: 'query' } },
    });
    expect(list).toMatchObject({ category: 'tasks', description: "List a project's tasks\n\nNewest first." });
    const create = byName(tools, 'createTask');
    // The body's properties sit beside the path and header parameters; its read-only id is the server's.
    expect(create.origin.http?.locations).toEqual({ projectId: 'path', 'Idempotency-Key': 'header', title: 'body', status: 'body', due: 'body', assignee_id: 'body' });
    expect(create.origin.http?.body_content_type).toBe('application/json');
    expect(create.parameters.required).toEqual(['projectId', 'Idempotency-Key', 'title']);
    // 3.0 `nullable` becomes a JSON Schema type list; the 201 schema is the result.
    expect(create.parameters.properties).toMatchObject({ due: { type: ['string', 'null'], format: 'date' } });
    expect(create.returns).toMatchObject({ type: 'object', required: ['id', 'title', 'status'], properties: { assignee: { type: 'object' }, subtasks: { type: 'array', items: {} } } });
    expect(JSON.stringify(tools)).not.toContain('$ref');
    // A body that is not an object is one argument named `body`.
    expect(byName(tools, 'addNote')).toMatchObject({
      category: 'general',
      parameters: { properties: { body: { type: 'string', maxLength: 2000 } }, required: ['projectId', 'body'] },
      origin: { http: { locations: { projectId: 'path', body: 'body' }, body_argument: 'body' } },
    });
    expect(byName(tools, 'searchTasks').parameters).toEqual({ type: 'object', properties: { q: { type: 'string' } }, required: ['q'] });
    expect(summary.warnings).toEqual(expect.arrayContaining([
      'searchTasks: cookie parameter "session" is left out (tools are not given cookies)',
      'uploadAttachment: its request body (application/octet-stream) is not JSON or a form, so the tool takes no body',
      'createTask: recursive schema #/components/schemas/Task is cut after one level (unconstrained below)',
    ]));
    for (const tool of tools) expect(Value.Check(Tool, tool), tool.name).toBe(true);
  });

  const doc31 = {
    openapi: '3.1.0',
    info: { title: 'Books', version: '1' },
    paths: {
      '/books/{isbn}': {
        put: {
          operationId: 'books.update',
          tags: ['books', 'admin'],
          description: 'Replace a book',
          parameters: [{ $ref: '#/components/parameters/Isbn' }, { name: 'dry_run', in: 'query', schema: { type: 'boolean' } }],
          requestBody: { required: true, content: { 'application/merge-patch+json': { schema: { $ref: '#/components/schemas/Book', description: 'The new book' } } } },
          responses: { '2XX': { description: 'ok', content: { 'application/json': { schema: { $ref: '#/components/schemas/Book' } } } } },
        },
      },
    },
    components: {
      parameters: { Isbn: { name: 'isbn', in: 'path', required: true, schema: { type: 'string' } } },
      schemas: { Book: { type: 'object', required: ['title'], properties: { title: { type: 'string' }, subtitle: { type: ['string', 'null'] }, pages: { type: 'integer', exclusiveMinimum: 0 } } } },
    },
  };

  it('reads a 3.1 document: JSON Schema types kept, a +json body, 2XX returns, an operationId sanitised', async () => {
    const { tools, summary } = await parse(doc31);
    expect(tools).toHaveLength(1);
    expect(tools[0]).toMatchObject({
      name: 'books_update',
      category: 'books',
      description: 'Replace a book',
      parameters: { properties: { isbn: { type: 'string' }, dry_run: { type: 'boolean' }, title: { type: 'string' }, subtitle: { type: ['string', 'null'] }, pages: { exclusiveMinimum: 0 } }, required: ['isbn', 'title'] },
      returns: { type: 'object', required: ['title'] },
      origin: { id: 'books.update', http: { method: 'PUT', body_content_type: 'application/merge-patch+json', locations: { isbn: 'path', dry_run: 'query', title: 'body', subtitle: 'body', pages: 'body' } } },
    });
    expect(tools[0].origin.http?.server).toBeUndefined();
    expect(summary.warnings).toContain('books.update: operationId is not a name providers accept; the tool is named books_update');
  });

  it('puts a body whose property clashes with a parameter under one `body` argument', async () => {
    const doc = structuredClone(doc31);
    doc.components.schemas.Book.properties = { ...doc.components.schemas.Book.properties, ...{ isbn: { type: 'string' } } };
    const { tools, summary } = await parse(doc);
    expect(tools[0].origin.http).toMatchObject({ locations: { isbn: 'path', dry_run: 'query', body: 'body' }, body_argument: 'body' });
    expect(tools[0].parameters.required).toEqual(['isbn', 'body']);
    expect(summary.warnings).toContain('books_update: body property "isbn" has the name of a path parameter, so the whole body is one argument');
  });

  it('accepts JSON text as well as YAML text', async () => {
    const { tools } = await parse(JSON.stringify(doc31));
    expect(tools[0].name).toBe('books_update');
  });
});

const openai = (name: string, parameters: unknown = { type: 'object', properties: {} }) => ({ type: 'function', function: { name, description: name, parameters } });
const mini = (op: Record<string, unknown>, components: Record<string, unknown> = {}) => ({ openapi: '3.0.3', info: { title: 'x', version: '1' }, paths: { '/x': { get: { responses: { '200': { description: 'ok' } }, ...op } } }, components });

describe('bad definitions: 400s naming the tool and the field', () => {
  it.each<[string, unknown, string, RegExp]>([
    ['duplicate names (Generator)', { name: 'x', tools: [{ name: 'a' }, { name: 'b' }, { name: 'a' }] }, 'definition.tools[2].name', /tool "a": the name is used twice \(first at definition\.tools\[0\]\.name\)/],
    ['duplicate names (OpenAPI operationIds)', { openapi: '3.1.0', info: { title: 'x', version: '1' }, paths: { '/a': { get: { operationId: 'same', responses: {} } }, '/b': { get: { operationId: 'same', responses: {} } } } }, 'definition.paths["/b"].get.operationId', /tool "same": the name is used twice/],
    ['parameters an array schema (OpenAI)', [openai('f', { type: 'array', items: { type: 'string' } })], 'definition[0].function.parameters', /tool "f": parameters must be an object schema \(type "object"\), got "array"/],
    ['parameters a string (OpenAI)', [openai('g', 'x')], 'definition[0].function.parameters', /tool "g": parameters must be a JSON Schema object/],
    ['inputSchema not an object schema (MCP)', { tools: [{ name: 'm', inputSchema: { type: 'string' } }] }, 'definition.tools[0].inputSchema', /tool "m": parameters must be an object schema/],
    ['parameters not a list (Generator)', { name: 'x', tools: [{ name: 'a', parameters: { p: 1 } }] }, 'definition.tools[0].parameters', /tool "a": parameters must be a list/],
    ['a name with a space (OpenAI)', [openai('get weather')], 'definition[0].function.name', /tool "get weather": the name is not one providers accept/],
    ['a name over 64 characters (MCP)', { tools: [{ name: 'n'.repeat(65), inputSchema: { type: 'object' } }] }, 'definition.tools[0].name', /the name is not one providers accept/],
    ['a tool without a name (Generator)', { name: 'x', tools: [{ description: 'nameless' }] }, 'definition.tools[0].name', /a tool needs a non-empty string name/],
    ['an unresolvable $ref in a response', mini({ operationId: 'getX', responses: { '200': { description: 'ok', content: { 'application/json': { schema: { $ref: '#/components/schemas/Missing' } } } } } }), 'definition.paths["/x"].get.responses.200.content.application/json.schema.$ref', /tool "getX": \$ref "#\/components\/schemas\/Missing" cannot be resolved/],
    ['an unresolvable $ref inside a component', mini({ operationId: 'getY', parameters: [{ $ref: '#/components/parameters/P' }] }, { parameters: { P: { name: 'p', in: 'query', schema: { $ref: '#/components/schemas/Nope' } } } }), 'definition.components.parameters.P.schema.$ref', /tool "getY": \$ref "#\/components\/schemas\/Nope"/],
    ['an external $ref (never fetched)', mini({ operationId: 'getZ', parameters: [{ name: 'p', in: 'query', schema: { $ref: 'https://example.com/schemas/p.json' } }] }), 'definition.paths["/x"].get.parameters[0].schema.$ref', /tool "getZ": \$ref "https:\/\/example\.com\/schemas\/p\.json" points outside the document/],
    ['a file $ref (never read)', mini({ operationId: 'getF', parameters: [{ $ref: './params.yaml#/Limit' }] }), 'definition.paths["/x"].get.parameters[0].$ref', /points outside the document/],
    ['a path and a query parameter of one name', mini({ operationId: 'dup', parameters: [{ name: 'id', in: 'query', schema: { type: 'string' } }, { name: 'id', in: 'header', schema: { type: 'string' } }] }), 'definition.paths["/x"].get.parameters', /tool "dup": parameter "id" is both a query and a header parameter/],
    ['an empty Generator tool list', { name: 'x', tools: [] }, 'definition', /the definition has no tools/],
    ['an empty OpenAI array', [], 'definition', /the definition has no tools/],
    ['an OpenAPI document without operations', { openapi: '3.1.0', info: { title: 'x', version: '1' }, paths: {} }, 'definition', /the definition has no tools/],
    ['a Swagger 2.0 document', { swagger: '2.0', info: { title: 'x', version: '1' }, paths: {} }, 'definition', /Swagger 2\.0/],
    ['an OpenAPI 4 version', { openapi: '4.0.0', info: { title: 'x', version: '1' }, paths: {} }, 'definition.openapi', /3\.0\.x and 3\.1\.x/],
    ['a shape of no format', { hello: 'world' }, 'definition', /not a tool definition Quarry can read/],
    ['YAML that does not parse', 'openapi: [3.1', 'definition', /not valid YAML/],
  ])('%s', async (_label, definition, field, message) => {
    const got = await refusal(definition);
    expect(got.field).toBe(field);
    expect(got.message).toMatch(message);
  });

  it(`refuses more than ${LIMITS.toolsPerSet} tools`, async () => {
    const got = await refusal(Array.from({ length: LIMITS.toolsPerSet + 1 }, (_, i) => openai(`t${i}`)));
    expect(got).toMatchObject({ field: 'definition', message: expect.stringMatching(/1,001 tools; at most 1,000 per set/) });
    const { summary } = await parse(Array.from({ length: LIMITS.toolsPerSet }, (_, i) => openai(`t${i}`)));
    expect(summary.total).toBe(LIMITS.toolsPerSet);
    // A thousand tools without a returns schema: the summary lists 200 warnings and counts the rest.
    expect(summary.warnings).toHaveLength(201);
    expect(summary.warnings[200]).toBe('… and 800 more warnings');
  });

  it('refuses $refs that expand past the schema-node bound (refs used many times over)', async () => {
    const schemas: Record<string, unknown> = { L0: { type: 'string' } };
    for (let i = 1; i <= 24; i++) schemas[`L${i}`] = { type: 'object', properties: { a: { $ref: `#/components/schemas/L${i - 1}` }, b: { $ref: `#/components/schemas/L${i - 1}` } } };
    const got = await refusal(mini({ operationId: 'bomb', responses: { '200': { description: 'ok', content: { 'application/json': { schema: { $ref: '#/components/schemas/L24' } } } } } }, { schemas }));
    expect(got.message).toMatch(/tool "bomb": the document's \$refs expand to more than 500,000 schema nodes/);
  });

  it('a format given explicitly is held to its shape', async () => {
    expect(await refusal(HDF5, 'openai')).toMatchObject({ field: 'definition.tools[0].parameters', message: expect.stringMatching(/tool "open_file": parameters must be a JSON Schema object/) });
    expect(await refusal('"just text"', 'openai')).toMatchObject({ field: 'definition', message: expect.stringMatching(/OpenAI tools are an array/) });
  });
});

describe('definitions sent as text', () => {
  it(`refuses YAML over ${LIMITS.toolYamlTokens.toLocaleString('en-US')} tokens before parsing it, and the same document as JSON is read`, async () => {
    const paths: Record<string, unknown> = {};
    for (let i = 0; i < 12_000; i++) paths[`/r${i}`] = { get: { operationId: `op${i}`, responses: { '200': { description: 'ok' } } } };
    const doc = { openapi: '3.1.0', info: { title: 'big', version: '1' }, paths };
    const yaml = ['openapi: 3.1.0', 'info: {title: big, version: "1"}', 'paths:', ...Object.keys(paths).flatMap((p, i) => [`  ${p}:`, '    get:', `      operationId: op${i}`, '      responses:', "        '200':", '          description: ok'])].join('\n');
    const got = await refusal(yaml);
    expect(got).toMatchObject({ field: 'definition', message: expect.stringMatching(/more than 250,000 tokens; send a larger definition as JSON/) });
    await expect(parse(JSON.stringify(doc))).rejects.toMatchObject({ message: expect.stringMatching(/12,000 tools; at most 1,000 per set/) });
  });

  it('refuses text over the definition size bound', async () => {
    const got = await refusal(`[${' '.repeat(LIMITS.toolDefinitionBytes)}]`);
    expect(got.message).toMatch(/at most 4 MiB/);
  });
});
