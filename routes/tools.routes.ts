import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { JobDeps } from '../services/jobs/job-deps.js';
import { LIMITS } from '../services/limits.js';
import { ToolFormatSchema, ToolSetId, ToolSetView } from '../services/tools/tool-set.js';
import { ToolDefinition, createToolSet, getToolSet, listToolSetViews } from '../services/tools/tools.service.js';
import { errors } from './schemas.js';

const CreateBody = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: "Defaults to the definition's own name (Generator `name`, OpenAPI `info.title`)" })),
    format: Type.Optional(ToolFormatSchema),
    definition: ToolDefinition,
  },
  { additionalProperties: false },
);

const examples = {
  'application/json': {
    openai: {
      summary: 'An OpenAI tools array',
      value: {
        name: 'weather',
        definition: [
          { type: 'function', function: { name: 'get_weather', description: 'Current weather for a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } },
        ],
      },
    },
    mcp: {
      summary: 'An MCP tools/list result',
      value: {
        definition: {
          tools: [
            { name: 'read_file', description: 'Read a text file', inputSchema: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] }, annotations: { readOnlyHint: true } },
          ],
        },
      },
    },
    generator: {
      summary: "Generator's tool JSON (hdf5_tools.json's shape)",
      value: {
        definition: {
          name: 'HDF5 tools',
          tools: [
            {
              tool_id: 'hdf5_open_file',
              name: 'open_file',
              category: 'file_operations',
              description: 'Open an HDF5 file',
              parameters: [{ name: 'path', type: 'path', required: true, description: 'Path to the HDF5 file' }],
              returns: { type: 'string', description: 'Success message' },
              examples: ["open_file(path='/data/run.h5')"],
              complexity: 'simple',
            },
          ],
        },
      },
    },
    openapi: {
      summary: 'An OpenAPI 3.1 document (YAML text is accepted too)',
      value: {
        definition: {
          openapi: '3.1.0',
          info: { title: 'Pets', version: '1' },
          servers: [{ url: 'https://pets.example.com/v1' }],
          paths: {
            '/pets/{petId}': {
              get: {
                operationId: 'getPet',
                tags: ['pets'],
                summary: 'One pet',
                parameters: [{ name: 'petId', in: 'path', required: true, schema: { type: 'integer' } }],
                responses: { '200': { description: 'The pet', content: { 'application/json': { schema: { type: 'object', properties: { id: { type: 'integer' }, name: { type: 'string' } } } } } } },
              },
            },
          },
        },
      },
    },
  },
};

/** The body schema with its named examples (the contract lists them; validation ignores them). */
const body = { ...CreateBody, 'x-examples': examples['application/json'] };
const ToolSetListItem = Type.Omit(ToolSetView, ['tools']);

export function toolsRoutes(deps: Pick<JobDeps, 'database'>): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/v1/tools',
      {
        schema: {
          operationId: 'createToolSet',
          tags: ['tools'],
          summary: 'Store a tool set from Generator JSON, an OpenAI tools array, an MCP tools/list result or an OpenAPI 3 document',
          description:
            'The format is detected from the shape (or given as `format`). Every tool is normalised to one shape: name, description, JSON Schema ' +
            '`parameters` (always an object schema), `returns`, category, complexity (simple, medium or complex), examples, and its origin ' +
            "(OpenAPI tools: method, path, server and each argument's location). The answer carries Generator's `tool-parse` summary: counts by " +
            'category and complexity, and warnings (missing descriptions, no returns schema, …). A bad definition is a 400 naming the tool and the ' +
            'field: duplicate names, a name providers refuse (^[a-zA-Z0-9_-]{1,64}$), parameters that are not an object schema, an unresolvable ' +
            `or external $ref (never fetched), no tools. At most ${LIMITS.toolsPerSet.toLocaleString('en-US')} tools and ${LIMITS.toolDefinitionBytes / 2 ** 20} MiB per definition.`,
          body,
          response: { 201: Type.Object({ tool_set: ToolSetView }), ...errors(400, 401, 413) },
        },
      },
      async (request, reply) => {
        const set = await createToolSet(deps, request.owner, request.body);
        return reply.status(201).header('location', `/v1/tools/${set.id}`).send({ tool_set: set });
      },
    );

    app.get(
      '/v1/tools',
      {
        schema: {
          operationId: 'listToolSets',
          tags: ['tools'],
          summary: 'List tool sets, newest first',
          description: 'Each set with its summary, without its tools; pass `next_before` back as `before` for the next page (null on the last).',
          querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })), before: Type.Optional(ToolSetId) }),
          response: { 200: Type.Object({ tool_sets: Type.Array(ToolSetListItem), next_before: Type.Union([Type.String(), Type.Null()]) }), ...errors(400, 401) },
        },
      },
      async (request) => listToolSetViews(deps, request.owner, request.query),
    );

    app.get(
      '/v1/tools/:id',
      {
        schema: {
          operationId: 'getToolSet',
          tags: ['tools'],
          summary: 'A tool set: its normalised tools and summary',
          description: "404 for an unknown id and for another key's set alike.",
          params: Type.Object({ id: ToolSetId }),
          response: { 200: Type.Object({ tool_set: ToolSetView }), ...errors(400, 401, 404) },
        },
      },
      async (request) => ({ tool_set: await getToolSet(deps, request.owner, request.params.id) }),
    );
  };
}
